// Reading an input file's text (spec, alert config, Kubernetes manifests) into plain data, and
// answering "which line and column is key path P written at" for its problems. YAML or strict
// JSON; parse errors carry line and column; duplicate keys and alias bombs are refused. No shape
// checks here: src/input/validate.ts maps a zod schema's issues to problems.
import { isAlias, isMap, isScalar, isSeq, Lexer, LineCounter, parseAllDocuments, parseDocument } from 'yaml';
import { HeadroomError } from '../core/errors.ts';

// YAML aliases are expanded by toJS: 9 levels of 10 aliases each (a "billion laughs") would build
// 10^9 nodes. yaml counts the expansions and stops at maxAliasCount; a real spec uses a few.
const MAX_ALIAS_COUNT = 100;
/**
 * YAML with more tokens than this is refused before its document is built (JSON is not): the tree
 * takes ~350 bytes a token (6 MB of usage samples: 2.1 M tokens, 860 MB). Counting is a streaming
 * lex (~0.1 µs a byte), done above 1 MiB only.
 */
const YAML_MAX_TOKENS = 1_000_000;

function yamlTokens(text: string): number {
  let n = 0;
  for (const tok of new Lexer().lex(text)) {
    if (tok.length > 0 && tok !== '\n' && tok[0] !== ' ' && ++n > YAML_MAX_TOKENS) break;
  }
  return n;
}

/**
 * YAML or JSON text → plain data, for every input file (spec, alert config): parse errors with line
 * and column, strict JSON for .json, duplicate keys rejected, alias bombs stopped. No shape checks.
 */
export function parseInputText(text: string, file: string): unknown {
  // A file named .json is strict JSON: a trailing comma or a comment is a typo that YAML (a JSON
  // superset with flow collections) would accept silently. It is read by JSON.parse alone: the YAML
  // document tree costs ~60× the text (a 13-MB JSON spec of 250,000 usage samples took > 768 MB of
  // heap through it, ~150 MB without). JSON has no aliases; a repeated key keeps the last value.
  if (/\.json$/i.test(file)) return strictJson(text, file);
  if (text.length > 2 ** 20 && yamlTokens(text) > YAML_MAX_TOKENS) {
    throw new HeadroomError({
      code: 'HR_INPUT_TOO_LARGE',
      file,
      message: `a YAML file of more than ${YAML_MAX_TOKENS.toLocaleString('en')} tokens (its parse tree takes ~350 bytes a token)`,
      allowed: `YAML up to ${YAML_MAX_TOKENS.toLocaleString('en')} tokens (~50,000 usage samples in flow style); larger inputs as .json (the same keys), up to 16 MiB`,
    });
  }
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    // e.g. RangeError from nesting thousands of levels deep: input, not a bug.
    throw new HeadroomError({ code: 'HR_SPEC_PARSE', file, message: `cannot parse: ${errorName(err)}` });
  }
  if (doc.errors.length > 0) throw yamlErrors(doc.errors, file);
  return toData(doc, file);
}

/** YAML syntax errors as HR_SPEC_PARSE problems, each with its line and column. */
function yamlErrors(
  errors: ReadonlyArray<{ message: string; linePos?: [{ line: number; col: number }, ...unknown[]] | undefined }>,
  file: string | undefined,
): HeadroomError {
  return new HeadroomError(
    errors.map((e) => {
      const pos = e.linePos?.[0];
      return {
        code: 'HR_SPEC_PARSE' as const,
        ...(file !== undefined ? { file } : {}),
        ...(pos ? { line: pos.line, column: pos.col } : {}),
        message: (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''),
      };
    }),
  );
}

/** A parsed document as plain data, with the alias-expansion bound (HR_INPUT_TOO_LARGE). */
function toData(doc: { toJS(o: { maxAliasCount: number }): unknown }, file: string | undefined): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (err instanceof ReferenceError && /alias/i.test(err.message)) {
      throw new HeadroomError({
        code: 'HR_INPUT_TOO_LARGE',
        ...(file !== undefined ? { file } : {}),
        message: 'YAML aliases expand to too many nodes (an alias bomb?)',
        allowed: `at most ${MAX_ALIAS_COUNT} alias expansions`,
      });
    }
    throw new HeadroomError({
      code: 'HR_SPEC_PARSE',
      ...(file !== undefined ? { file } : {}),
      message: `cannot parse: ${errorName(err)}`,
    });
  }
}

/** One document of a multi-document input, and the line it starts on (1-based). */
export interface InputDocument {
  data: unknown;
  line: number;
  /** Lines where each item of a top-level `items:` list starts (a `List`), by index. */
  itemLines: number[];
  /** Line and column of a key's value in this document (undefined: not there, or a JSON file). */
  position?: (path: ReadonlyArray<string | number>) => { line: number; column: number } | undefined;
}

/**
 * Like parseInputText, for inputs that may hold several YAML documents (`---`), e.g. Kubernetes
 * manifests: the same strict JSON for .json, duplicate-key and alias-bomb checks, parse errors
 * with line and column. Empty documents (a trailing `---`) are skipped.
 */
export function parseInputDocuments(text: string, file: string): InputDocument[] {
  if (/\.json$/i.test(file)) {
    const data = strictJson(text, file);
    return [{ data, line: 1, itemLines: [] }];
  }
  if (text.length > 2 ** 20 && yamlTokens(text) > YAML_MAX_TOKENS) parseInputText(text, file); // throws the size error
  const lc = new LineCounter();
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true, lineCounter: lc });
  } catch (err) {
    throw new HeadroomError({ code: 'HR_SPEC_PARSE', file, message: `cannot parse: ${errorName(err)}` });
  }
  const list = Array.isArray(docs) ? docs : [];
  const errors = list.flatMap((d) => d.errors);
  if (errors.length > 0) throw yamlErrors(errors, file);
  const out: InputDocument[] = [];
  for (const doc of list) {
    if (doc.contents === null) continue;
    const data = toData(doc, file);
    const start = doc.contents.range?.[0] ?? 0;
    const items = doc.getIn(['items'], true) as { items?: Array<{ range?: [number, number, number] }> } | undefined;
    const itemLines = Array.isArray(items?.items)
      ? items.items.map((it) => (it.range ? lc.linePos(it.range[0]).line : lc.linePos(start).line))
      : [];
    const position = (path: ReadonlyArray<string | number>): { line: number; column: number } | undefined => {
      const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
      if (!node?.range) return undefined;
      const at = lc.linePos(node.range[0]);
      return { line: at.line, column: at.col };
    };
    out.push({ data, line: lc.linePos(start).line, itemLines, position });
  }
  return out;
}

function strictJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // V8's message may quote the text ("Unexpected token 'h', "hunter2"... is not valid JSON"):
    // keep only the part before the quote, and the position as line and column.
    const msg = err instanceof Error ? err.message : '';
    const what =
      /^[^",]*/
        .exec(msg)?.[0]
        ?.replace(/ in JSON at position.*$/, '')
        .trim() || 'invalid';
    const at = /position (\d+)/.exec(msg);
    let pos: { line: number; column: number } | undefined;
    if (at) {
      const before = text.slice(0, Number(at[1]));
      pos = { line: before.split('\n').length, column: before.length - before.lastIndexOf('\n') };
    }
    throw new HeadroomError({
      code: 'HR_SPEC_PARSE',
      file,
      ...pos,
      message: `not valid JSON: ${what}`,
      allowed: 'strict JSON (no trailing commas or comments) in a .json file; YAML in .yaml',
    });
  }
}

function errorName(err: unknown): string {
  if (err instanceof RangeError) return 'nested too deeply';
  return err instanceof Error ? err.name : 'unknown error';
}

/** Line and column (1-based) where something is written in an input file. */
export interface Position {
  line: number;
  column: number;
}

/** A parsed input file: its data, and where each key path of it is written. */
export interface InputSource {
  file: string;
  data: unknown;
  /**
   * Where the value at `path` is written (a map or list: where its key is). A path that goes on
   * past what the file has (a required key left out) gives the deepest part that is there;
   * undefined when not even its first key is, or the file is too large to locate in.
   */
  position(path: ReadonlyArray<string | number>): Position | undefined;
}

/**
 * The YAML tree that positions are read from is built only when a problem asks (never on the
 * success path), and only up to this size: above it, problems name the key path alone. 4 MiB of
 * YAML builds a tree of ~350 MB at worst (~350 bytes a token), once.
 */
const LOCATE_MAX_CHARS = 4 * 2 ** 20;

/** parseInputText, keeping the text so that problems can be given a line and column. */
export function readSource(text: string, file: string): InputSource {
  return { file, data: parseInputText(text, file), position: locator(text) };
}

type Tree = { doc: ReturnType<typeof parseDocument>; lc: LineCounter };

function locator(text: string): InputSource['position'] {
  let tree: Tree | null | undefined;
  return (path) => {
    if (tree === undefined) tree = text.length <= LOCATE_MAX_CHARS ? buildTree(text) : null;
    return tree ? positionIn(tree, path) : undefined;
  };
}

function buildTree(text: string): Tree | null {
  const lc = new LineCounter();
  try {
    // JSON is YAML (1.2) as far as positions go; duplicate keys were refused by the first parse.
    return { doc: parseDocument(text, { lineCounter: lc, uniqueKeys: false }), lc };
  } catch {
    return null;
  }
}

function positionIn({ doc, lc }: Tree, path: ReadonlyArray<string | number>): Position | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    let key: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg));
      if (!pair) break;
      key = pair.key;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      node = node.items[seg];
    } else break;
    // A scalar is pointed at itself (`memory: lots` → lots); a map or list at its key.
    const at = isScalar(node) || key === undefined ? node : key;
    offset = (at as { range?: [number, number, number] } | null)?.range?.[0] ?? offset;
  }
  if (offset === undefined) return undefined;
  const { line, col } = lc.linePos(offset);
  return { line, column: col };
}
