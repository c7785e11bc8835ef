// Intl.DurationFormat (ECMA-402, in Node 23+) is not yet in TypeScript's lib files: the part we use.
declare namespace Intl {
  interface DurationInput {
    hours?: number;
    minutes?: number;
    seconds?: number;
  }
  interface DurationFormatOptions {
    style?: 'long' | 'short' | 'narrow' | 'digital';
    secondsDisplay?: 'always' | 'auto';
  }
  class DurationFormat {
    constructor(locale?: string | string[], options?: DurationFormatOptions);
    format(duration: DurationInput): string;
  }
}
