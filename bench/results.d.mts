export interface ResultRow {
  bench: string;
  shape: string;
  adapter: string;
  runner?: string;
  /** Figures; a profile row also lists its kernels (`kernels`). */
  [figure: string]: string | number | undefined | ReadonlyArray<Readonly<Record<string, string | number>>>;
}
export declare const RESULTS_PATH: URL;
export declare function mergeRows(rows: ResultRow[], path?: URL | string): { updated: string; rows: ResultRow[] };
