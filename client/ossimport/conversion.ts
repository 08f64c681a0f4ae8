/**
 * The state of one ossimport conversion: the job being drafted and everything said about the keys on the way
 * (problems, notes, which key went where, the comment each field gets). The mapping handlers write to it; the
 * result types below are what {@link convertOssimport} returns.
 */
import type { JobFile } from '../../common/job';
import { parseProperties, valueOf, type Properties } from './properties';

export type NoteLevel = 'info' | 'warn';

/** A key that was not carried (or carried with a caveat), and why. */
export interface ConversionNote {
  /** The ossimport key (or keys, comma-separated). */
  key: string;
  level: NoteLevel;
  message: string;
}

/** An http list whose columns ossimport reads in another order than Ferry: the command rewrites it. */
export interface ListRewrite {
  from: string;
  to: string;
  /** 1-based ossimport columns: URL prefix and relative key. */
  prefixColumn: number;
  relativeColumn: number;
}

export interface ConvertInput {
  jobCfg: string;
  sysProperties?: string;
  /** File names for comments and messages (basename only). */
  jobCfgName?: string;
  sysPropertiesName?: string;
  /** Overrides `jobName`. */
  name?: string;
  /** Absolute directory the files will be written to (used for a rewritten http list). */
  outDir: string;
}

/** Profile name → keys, as written to the credentials file. */
export type Credentials = Record<string, { accessKeyId: string; secretAccessKey: string }>;

/** An ossimport key that was carried, and the Ferry field it went to. */
export interface MappedKey {
  key: string;
  field: string;
}

export interface ConversionResult {
  name: string;
  /** The job file document (what parseJob accepts). No secrets. */
  job: JobFile;
  jobYaml: string;
  /** Profile name → keys. The only place secrets appear. */
  credentials: Credentials;
  /** YAML text of the credentials file, or undefined when the configuration holds no keys. */
  credentialsYaml: string | undefined;
  /** ossimport key → Ferry field, for every key that was carried. */
  mapped: MappedKey[];
  notes: ConversionNote[];
  /** Commands to run next. */
  nextSteps: string[];
  listRewrite?: ListRewrite;
}

/** One section of the job file being drafted; an empty section is left out of the file. */
export type Section = Record<string, unknown>;

/** The Ferry job being drafted, section by section, in the order the job file lists them. */
export interface JobDraft {
  name: string;
  mode: 'copy' | 'verify';
  source: Section;
  destination: Section;
  filter: Section;
  overwrite?: 'if-different' | 'always';
  verify?: 'none' | 'size' | 'checksum';
  tasks: Section;
  concurrency: Section;
  multipart: Section;
  throttle: Section;
}

/** Keys whose values are secrets: never echoed anywhere but the credentials file. */
const SECRET_KEYS = new Set(['srcAccessKey', 'srcSecretKey', 'destAccessKey', 'destSecretKey', 'workerPassword']);

export class Conversion {
  readonly job: Properties;
  readonly sys: Properties | undefined;
  readonly cfgName: string;
  readonly sysName: string;
  /** Problems that stop the conversion, as `key: message`; all are reported at once. */
  readonly issues: string[] = [];
  readonly notes: ConversionNote[] = [];
  readonly mapped: MappedKey[] = [];
  /** Job-file field path (`source.bucket`) → the comment naming the ossimport setting it came from. */
  readonly comments = new Map<string, string>();
  readonly credentials: Credentials = {};
  readonly draft: JobDraft = { name: '', mode: 'copy', source: {}, destination: {}, filter: {}, tasks: {}, concurrency: {}, multipart: {}, throttle: {} };
  /** True once a key pair went to the credentials file: the next steps then pass `--credentials`. */
  keysUsed = false;
  listRewrite?: ListRewrite;
  /** Seconds between rounds when ossimport ran in continuous incremental mode (it becomes a schedule). */
  incrementalEvery?: number;

  constructor(readonly input: ConvertInput) {
    this.job = parseProperties(input.jobCfg);
    this.sys = input.sysProperties !== undefined ? parseProperties(input.sysProperties) : undefined;
    this.cfgName = input.jobCfgName ?? 'job.cfg';
    this.sysName = input.sysPropertiesName ?? 'sys.properties';
  }

  /** Notes with the same level and reason are merged into one line naming every key. */
  note(key: string, level: NoteLevel, message: string): void {
    const same = this.notes.find((n) => n.level === level && n.message === message);
    if (same) same.key += `, ${key}`;
    else this.notes.push({ key, level, message });
  }

  /** A job.cfg value; empty = unset (ossimport users keep keys with empty values). */
  value(key: string): string | undefined {
    return valueOf(this.job, key);
  }

  /** Records that keys were carried to `field` and comments the field with them (secrets by name only). */
  map(key: string | string[], field: string, comment?: string): void {
    const keys = Array.isArray(key) ? key : [key];
    for (const k of keys) this.mapped.push({ key: k, field });
    this.comments.set(field, comment ?? keys.map((k) => (SECRET_KEYS.has(k) ? k : `${k}=${this.job.values.get(k) ?? ''}`)).join(', '));
  }

  /** Records a carried key without a comment: its field is left at Ferry's default or commented elsewhere. */
  recordMapped(key: string, field: string): void {
    this.mapped.push({ key, field });
  }

  /** A true/false key (any case), `fallback` when unset; anything else is an issue. */
  bool(key: string, fallback: boolean): boolean {
    const v = this.value(key);
    if (v === undefined) return fallback;
    if (/^true$/i.test(v)) return true;
    if (/^false$/i.test(v)) return false;
    this.issues.push(`${key}: ${JSON.stringify(v)} is not true or false`);
    return fallback;
  }

  /** A whole-number key of at least `min`, undefined when unset; anything else is an issue. */
  int(key: string, min = 0): number | undefined {
    const v = this.value(key);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min) {
      this.issues.push(`${key}: ${JSON.stringify(v)} is not a whole number${min ? ` ≥ ${min}` : ''}`);
      return undefined;
    }
    return Number(v);
  }

  /**
   * Sends an access key pair to the credentials file as `profile` and names the profile in the job section.
   * One key without the other is an issue; neither key means the worker's default credentials (`whenEmpty`).
   */
  takeKeyPair(section: 'source' | 'destination', [idKey, secretKey]: [string, string], profile: string, whenEmpty: string): void {
    const id = this.value(idKey);
    const secret = this.value(secretKey);
    if (!id && !secret) {
      this.note(`${idKey}, ${secretKey}`, 'warn', whenEmpty);
      return;
    }
    if (!id || !secret) {
      this.issues.push(`${id ? secretKey : idKey}: empty while ${id ? idKey : secretKey} is set — give both keys or neither`);
      return;
    }
    this.credentials[profile] = { accessKeyId: id, secretAccessKey: secret };
    const field = `${section}.credentials`;
    this.mapped.push({ key: idKey, field: `${field} (credentials file)` }, { key: secretKey, field: `${field} (credentials file)` });
    this.draft[section].credentials = profile;
    this.comments.set(field, `${idKey}/${secretKey} → profile ${profile}`);
    this.keysUsed = true;
  }
}
