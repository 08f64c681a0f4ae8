// The part of xml2js (0.6.2, ali-oss's own XML library; no @types package is installed) that Ferry uses.
declare module 'xml2js' {
  /** An element as xml2js reads it with its default options: child name → the children of that name, in order. */
  export interface XmlElement {
    [child: string]: (XmlElement | string)[];
  }
  export function parseStringPromise(xml: string, options?: { explicitRoot?: boolean; async?: boolean }): Promise<Record<string, XmlElement | string>>;
  export class Builder {
    constructor(options?: { rootName?: string; headless?: boolean; xmldec?: { version: string; encoding?: string; standalone?: boolean }; renderOpts?: { pretty: boolean } });
    buildObject(root: Record<string, XmlElement | string>): string;
  }
}
