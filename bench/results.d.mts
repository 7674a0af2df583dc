export interface ResultRow {
  bench: string;
  shape: string;
  adapter: string;
  runner?: string;
  [figure: string]: string | number | undefined;
}
export declare const RESULTS_PATH: URL;
export declare function mergeRows(rows: ResultRow[], path?: URL | string): { updated: string; rows: ResultRow[] };
