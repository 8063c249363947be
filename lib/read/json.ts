/**
 * JSON text → data, for the side files paramscope reads from paths it is given (adapter_config.json,
 * config.json, the quantization configs, an index's metadata). `JSON.parse` is not used because:
 * - its error messages quote the text ("Unexpected token 'r', "root:x:0:0"..."), and a file that is not
 *   JSON may be anything (a key, /etc/shadow through a link); these errors give the position only;
 * - it keeps the last of duplicate keys silently; here a caller chooses between refusing them and
 *   Python's last-wins;
 * - its objects inherit from Object.prototype, so a config lookup of `constructor` or `toString` finds a
 *   function; here objects have a null prototype, and `__proto__` / `constructor` keys are plain data;
 * - it refuses `NaN`, `Infinity` and `-Infinity`, which Python's `json.dump` writes (a PEFT or
 *   transformers config can hold them); here they parse, and the value checks refuse them where a
 *   number must be finite.
 * Work is bounded: nesting depth and the number of values are capped, and the parse is one pass.
 */
import { type ErrorCode, ParamscopeError } from '../errors';

/** Deepest nesting accepted (a real config nests a handful of levels). */
export const MAX_JSON_DEPTH = 64;
/** Most values one side file may hold (a real config holds hundreds; id2label of 100k classes 200k). */
export const MAX_JSON_VALUES = 1_000_000;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface JsonParseOptions {
  /** The file, for messages and ParamscopeError.file. */
  file: string;
  /** What the file is, for messages ("adapter config"). */
  what: string;
  /** The code of a syntax error, a duplicate key, or too deep a nesting. */
  code: ErrorCode;
  /** 'refuse' (default): a duplicate key is an error. 'last': the last value wins, as in Python. */
  duplicates?: 'refuse' | 'last';
  /** Most values accepted (default MAX_JSON_VALUES). */
  maxValues?: number;
}

/**
 * The keys of a parsed object in the order the file lists them. Object.keys puts integer-like keys
 * ("0", "12") first, whatever their place in the file; where order means something (PEFT's first
 * matching rank_pattern key wins), use this.
 */
export function keysInFileOrder(object: object): string[] {
  const order = (object as { [KEY_ORDER]?: string[] })[KEY_ORDER];
  return order ? [...order] : Object.keys(object);
}
const KEY_ORDER = Symbol('paramscope.jsonKeyOrder');
const isIndexLike = (key: string) => /^(0|[1-9][0-9]{0,9})$/.test(key) && Number(key) < 2 ** 32 - 1;

/** Parses `text`; objects in the result have a null prototype. Throws ParamscopeError, never SyntaxError. */
export function parseJson(text: string, options: JsonParseOptions): JsonValue {
  return new Parser(text, options).document();
}

/** Line and column (1-based) of a character offset, for messages. */
function lineAndColumn(text: string, at: number): string {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) {
    ++line;
    start = i + 1;
  }
  return `line ${line}, column ${at - start + 1}`;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

class Parser {
  #pos = 0;
  #values = 0;
  readonly #text: string;
  readonly #options: JsonParseOptions;

  constructor(text: string, options: JsonParseOptions) {
    // A UTF-8 byte order mark is not part of the JSON text.
    this.#text = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    this.#options = options;
  }

  document(): JsonValue {
    const value = this.#value(0);
    this.#space();
    if (this.#pos < this.#text.length) this.#fail('unexpected text after the JSON value');
    return value;
  }

  #fail(what: string, at = this.#pos): never {
    const { file, what: kind, code } = this.#options;
    throw new ParamscopeError(`${kind} ${file} is not valid JSON: ${what} at character ${at} (${lineAndColumn(this.#text, at)})`, { code, file });
  }

  #space(): void {
    const t = this.#text;
    let p = this.#pos;
    for (let c = t.charCodeAt(p); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = t.charCodeAt(++p));
    this.#pos = p;
  }

  #literal(word: string): boolean {
    if (!this.#text.startsWith(word, this.#pos)) return false;
    this.#pos += word.length;
    return true;
  }

  #value(depth: number): JsonValue {
    if (depth > MAX_JSON_DEPTH) this.#fail(`nesting deeper than ${MAX_JSON_DEPTH} levels`);
    const cap = this.#options.maxValues ?? MAX_JSON_VALUES;
    if (++this.#values > cap)
      throw new ParamscopeError(`${this.#options.what} ${this.#options.file} holds more than ${cap} JSON values (at character ${this.#pos}), more than any real one`, {
        code: 'INPUT_TOO_LARGE',
        file: this.#options.file,
      });
    this.#space();
    const c = this.#text.charCodeAt(this.#pos);
    if (c === 0x7b) return this.#object(depth);
    if (c === 0x5b) return this.#array(depth);
    if (c === 0x22) return this.#string();
    if (c === 0x2d || isDigit(c)) {
      if (this.#literal('-Infinity')) return -Infinity;
      return this.#number();
    }
    if (this.#literal('true')) return true;
    if (this.#literal('false')) return false;
    if (this.#literal('null')) return null;
    if (this.#literal('NaN')) return NaN;
    if (this.#literal('Infinity')) return Infinity;
    this.#fail(this.#pos >= this.#text.length ? 'unexpected end of the text where a value belongs' : 'expected a value');
  }

  #object(depth: number): { [key: string]: JsonValue } {
    const out = Object.create(null) as { [key: string]: JsonValue };
    ++this.#pos;
    this.#space();
    if (this.#text.charCodeAt(this.#pos) === 0x7d) {
      ++this.#pos;
      return out;
    }
    const order: string[] = [];
    let reordered = false;
    for (;;) {
      this.#space();
      if (this.#text.charCodeAt(this.#pos) !== 0x22) this.#fail('expected a string key');
      const keyAt = this.#pos;
      const key = this.#string();
      const existed = Object.hasOwn(out, key);
      if (existed && this.#options.duplicates !== 'last')
        this.#fail(`duplicate key ${JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}...` : key)}`, keyAt);
      this.#space();
      if (this.#text.charCodeAt(this.#pos) !== 0x3a) this.#fail("expected ':' after a key");
      ++this.#pos;
      // A null-prototype object has no __proto__ setter: every key, "__proto__" included, is an own property.
      out[key] = this.#value(depth + 1);
      // As in a Python dict, a repeated key keeps its first place.
      if (!existed) order.push(key);
      reordered ||= isIndexLike(key);
      this.#space();
      const c = this.#text.charCodeAt(this.#pos);
      ++this.#pos;
      if (c === 0x7d) {
        if (reordered) Object.defineProperty(out, KEY_ORDER, { value: order, enumerable: false });
        return out;
      }
      if (c !== 0x2c) this.#fail("expected ',' or '}' in an object", this.#pos - 1);
    }
  }

  #array(depth: number): JsonValue[] {
    const out: JsonValue[] = [];
    ++this.#pos;
    this.#space();
    if (this.#text.charCodeAt(this.#pos) === 0x5d) {
      ++this.#pos;
      return out;
    }
    for (;;) {
      out.push(this.#value(depth + 1));
      this.#space();
      const c = this.#text.charCodeAt(this.#pos);
      ++this.#pos;
      if (c === 0x5d) return out;
      if (c !== 0x2c) this.#fail("expected ',' or ']' in an array", this.#pos - 1);
    }
  }

  #number(): number {
    const t = this.#text;
    const start = this.#pos;
    let p = start;
    if (t.charCodeAt(p) === 0x2d) ++p;
    if (t.charCodeAt(p) === 0x30) ++p;
    else if (isDigit(t.charCodeAt(p))) while (isDigit(t.charCodeAt(p))) ++p;
    else this.#fail('expected a digit', p);
    if (t.charCodeAt(p) === 0x2e) {
      ++p;
      if (!isDigit(t.charCodeAt(p))) this.#fail('expected a digit after the decimal point', p);
      while (isDigit(t.charCodeAt(p))) ++p;
    }
    if ((t.charCodeAt(p) | 0x20) === 0x65) {
      ++p;
      if (t.charCodeAt(p) === 0x2b || t.charCodeAt(p) === 0x2d) ++p;
      if (!isDigit(t.charCodeAt(p))) this.#fail('expected a digit in the exponent', p);
      while (isDigit(t.charCodeAt(p))) ++p;
    }
    this.#pos = p;
    return Number(t.slice(start, p));
  }

  #string(): string {
    const t = this.#text;
    let p = this.#pos + 1;
    let out = '';
    let run = p;
    for (;;) {
      const c = t.charCodeAt(p);
      if (Number.isNaN(c)) this.#fail('unterminated string', this.#pos);
      if (c === 0x22) break;
      if (c < 0x20) this.#fail('control character inside a string', p);
      if (c !== 0x5c) {
        ++p;
        continue;
      }
      out += t.slice(run, p);
      const e = t.charCodeAt(p + 1);
      const simple = ESCAPES[e];
      if (simple !== undefined) {
        out += simple;
        p += 2;
      } else if (e === 0x75) {
        const hex = t.slice(p + 2, p + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.#fail('invalid \\u escape', p);
        out += String.fromCharCode(parseInt(hex, 16));
        p += 6;
      } else this.#fail('invalid escape', p);
      run = p;
    }
    this.#pos = p + 1;
    return out + t.slice(run, p);
  }
}

const ESCAPES: Record<number, string> = { 0x22: '"', 0x5c: '\\', 0x2f: '/', 0x62: '\b', 0x66: '\f', 0x6e: '\n', 0x72: '\r', 0x74: '\t' };
