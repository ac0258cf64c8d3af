// Untyped entry points of Zapier's packages that the tests use, as zapier.md describes them.
declare module 'zapier-platform-core/src/tools/schema' {
  export function compileApp(app: unknown): Record<string, unknown>;
  export function serializeApp(compiledApp: unknown): Record<string, unknown>;
}

declare module 'zapier-platform-schema' {
  export function validateAppDefinition(definition: unknown): { errors: Array<{ property: string; message: string; stack: string }> };
}
