/**
 * `ferry import-ossimport`: converts an Alibaba ossimport 2.3.x configuration (job.cfg + optional
 * sys.properties) into a Ferry job file and a credentials file. properties.ts reads the files, mapping.ts and
 * sources.ts hold the key-by-key mapping, render.ts writes the text, convert.ts ties them together (pure) and
 * files.ts does the file I/O.
 */
export { parseProperties, type Properties } from './properties';
export type { ConversionNote, ConversionResult, ConvertInput, ListRewrite, NoteLevel } from './conversion';
export { exactSize, parseOssimportSize } from './values';
export { convertOssimport } from './convert';
export { renderConversion } from './render';
export { importOssimport, type ImportOptions, type ImportResult } from './files';
