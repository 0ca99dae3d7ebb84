// Annotation templates in the Prometheus subset people actually write, so the same strings work
// here and in the exported Prometheus rules:
//   {{ $labels.service }}  {{ $value }}  {{ $value | humanizePercentage }}  {{ $value | humanize }}
//   {{ $value | humanizeDuration }}  {{ printf "%.2f" $value }}  {{ $value | printf "%.1f" }}
// plus {{ $threshold }} (the rule's threshold; the exporter writes it in as a number), {{ $for }}
// and {{ $window }} (the rule's for and instance.restarts window as words, "5 minutes"), so a rule
// that overrides a built-in's `for` keeps annotations that say what it does.

export interface TemplateData {
  labels: Record<string, string>;
  value: number;
  threshold: number;
  forSeconds?: number;
  windowSeconds?: number;
}

/** 300 → "5 minutes", 3600 → "1 hour", 90 → "90 seconds": how the annotations say a duration. */
export function durationWords(seconds: number): string {
  const unit = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;
  if (seconds >= 3600 && seconds % 3600 === 0) return unit(seconds / 3600, 'hour');
  if (seconds >= 60 && seconds % 60 === 0) return unit(seconds / 60, 'minute');
  return unit(seconds, 'second');
}

const EXPR = /\{\{-?\s*(.*?)\s*-?\}\}/g;

export function renderTemplate(template: string, data: TemplateData): string {
  return template.replace(EXPR, (_m, body: string) => evalPipeline(body, data));
}

/** Names a template uses that it cannot render (for `alerts check`); empty when fine. */
export function templateProblems(template: string): string[] {
  const out: string[] = [];
  for (const m of template.matchAll(EXPR)) {
    try {
      evalPipeline(m[1] ?? '', { labels: {}, value: 1, threshold: 1, forSeconds: 60, windowSeconds: 60 }, true);
    } catch (err) {
      out.push((err as Error).message);
    }
  }
  return out;
}

function evalPipeline(body: string, data: TemplateData, strict = false): string {
  const stages = body.split('|').map((s) => s.trim());
  let value: unknown = undefined;
  stages.forEach((stage, i) => {
    const words = tokenize(stage);
    if (i === 0) {
      if (words[0] === 'printf')
        value = printf(
          unquote(words[1] ?? ''),
          words.slice(2).map((w) => operand(w, data, strict)),
        );
      else if (words.length === 1) value = operand(words[0] ?? '', data, strict);
      else if (words.length === 2 && FUNCS[words[0] ?? ''])
        value = FUNCS[words[0] ?? '']?.(operand(words[1] ?? '', data, strict));
      else if (strict) throw new Error(`unsupported template expression "${body}"`);
      return;
    }
    const fn = words[0] ?? '';
    if (fn === 'printf')
      value = printf(unquote(words[1] ?? ''), [...words.slice(2).map((w) => operand(w, data, strict)), value]);
    else if (FUNCS[fn]) value = FUNCS[fn](value);
    else if (strict) throw new Error(`unknown template function "${fn}"`);
  });
  return value === undefined ? '' : String(value);
}

function tokenize(s: string): string[] {
  return [...s.matchAll(/"(?:[^"\\]|\\.)*"|\S+/g)].map((m) => m[0]);
}

function unquote(s: string): string {
  return s.startsWith('"') ? (JSON.parse(s) as string) : s;
}

function operand(word: string, data: TemplateData, strict: boolean): unknown {
  if (word === '$value' || word === '.Value') return data.value;
  if (word === '$threshold') return data.threshold;
  if (word === '$for') return durationWords(data.forSeconds ?? 0);
  if (word === '$window') return durationWords(data.windowSeconds ?? 0);
  const label = /^(?:\$labels|\.Labels)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(word);
  if (label) return data.labels[label[1] ?? ''] ?? '';
  if (word.startsWith('"')) return unquote(word);
  if (/^-?\d+(\.\d+)?$/.test(word)) return Number(word);
  if (strict) throw new Error(`unknown template variable "${word}"`);
  return '';
}

const FUNCS: Record<string, (v: unknown) => string> = {
  humanize: (v) => humanize(Number(v)),
  humanizePercentage: (v) => `${g4(Number(v) * 100)}%`,
  humanizeDuration: (v) => humanizeDuration(Number(v)),
  toUpper: (v) => String(v).toUpperCase(),
  toLower: (v) => String(v).toLowerCase(),
};

/** Go's %.4g without trailing zeros: 0.91234 → 0.9123, 1234.5 → 1235. */
function g4(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return String(Number(v.toPrecision(4)));
}

/** Prometheus humanize: SI prefixes, 1234 → 1.234k, 0.0123 → 12.3m. */
export function humanize(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return g4(v);
  const abs = Math.abs(v);
  if (abs >= 1) {
    const prefixes = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
    let i = 0;
    while (Math.abs(v) >= 1000 && i < prefixes.length - 1) {
      v /= 1000;
      i++;
    }
    return `${g4(v)}${prefixes[i]}`;
  }
  const prefixes = ['', 'm', 'u', 'n', 'p', 'f', 'a'];
  let i = 0;
  while (Math.abs(v) < 1 && i < prefixes.length - 1) {
    v *= 1000;
    i++;
  }
  return `${g4(v)}${prefixes[i]}`;
}

/** Prometheus humanizeDuration: 3725 → "1h 2m 5s", 0.25 → "250ms". */
export function humanizeDuration(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) < 1) return v === 0 ? '0s' : `${g4(v * 1000)}ms`;
  const sign = v < 0 ? '-' : '';
  let s = Math.abs(v);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : '', s ? `${g4(s)}s` : ''].filter(Boolean);
  return sign + parts.join(' ');
}

/** The printf verbs annotations use: %.Nf %d %s %v %g %%. */
export function printf(format: string, args: unknown[]): string {
  let i = 0;
  return format.replace(/%(\.(\d+))?([fdsvg%])/g, (_m, _p, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    const a = args[i++];
    switch (verb) {
      case 'f':
        return Number(a).toFixed(prec === undefined ? 6 : Number(prec));
      case 'd':
        return String(Math.trunc(Number(a)));
      case 'g':
        return prec === undefined ? String(Number(a)) : String(Number(Number(a).toPrecision(Number(prec))));
      default:
        return String(a);
    }
  });
}
