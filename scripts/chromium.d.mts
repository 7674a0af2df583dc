export declare function chromiumPath(): string | undefined;
export declare function chromiumArgs(): string[];
export declare function resolveWebgpuAdapter(): Promise<{ mode: 'hardware' | 'swiftshader'; name: string }>;
