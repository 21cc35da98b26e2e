/** Types of build.mjs for the TypeScript callers (demo/start.ts, the console e2e). */
export declare const consoleBuildDir: string;
export declare function consoleSourceHash(): string;
export declare function consoleBuildIsStale(): boolean;
export declare function buildConsole(options?: { force?: boolean }): Promise<boolean>;
