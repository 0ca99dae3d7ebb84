// Types for parse-prometheus-text-format 1.1 (it ships none): families with string values.
declare module 'parse-prometheus-text-format' {
  interface Family {
    name: string;
    help: string;
    type: string;
    metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: unknown; quantiles?: unknown }>;
  }
  export default function parse(text: string): Family[];
}
