export declare function chromiumPath(): string | undefined;
export declare function chromiumArgs(): string[];
