import type { CatalogTool } from '../tools/types.js';

/** An OpenAPI 3.1 document for the REST face, generated from the catalog's tools (twl's ops' own schemas, upstream tools' declared ones). */
export function openApiDocument(tools: CatalogTool[], version: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {
    '/api/tools': { get: { summary: 'List the tools', operationId: 'listTools', responses: { '200': { description: 'The tools with their schemas.' } } } },
  };
  for (const tool of tools) {
    paths[`/api/tools/${tool.name}`] = {
      post: {
        operationId: tool.name,
        summary: tool.title,
        description: tool.description,
        'x-twl-annotations': tool.annotations,
        'x-twl-min-role': tool.minRole,
        'x-twl-source': tool.source,
        requestBody: { required: true, content: { 'application/json': { schema: tool.inputSchema } } },
        responses: {
          '200': { description: 'The result, as the CLI prints it under --json.', content: { 'application/json': { schema: { type: 'object', properties: { result: tool.outputSchema ?? {} } } } } },
          '400': { description: 'Invalid input.' },
          '401': { description: 'No valid API key or access token.' },
          '403': { description: 'Refused by a policy.' },
          '404': { description: 'Not found.' },
          '503': { description: 'A dependency is unavailable.' },
          '504': { description: 'Timed out.' },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'twl (TwisterLab)', version },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key (twl keys create) or, with http.oauth, an OAuth access token.' } } },
    security: [{ bearer: [] }],
  };
}
