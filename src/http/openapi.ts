import { z } from 'zod';
import type { AnyOp } from '../ops/op.js';

/** An OpenAPI 3.1 document for the REST face, generated from the ops' own schemas. */
export function openApiDocument(ops: AnyOp[], version: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {
    '/api/tools': { get: { summary: 'List the tools', operationId: 'listTools', responses: { '200': { description: 'The tools with their schemas.' } } } },
  };
  for (const op of ops) {
    paths[`/api/tools/${op.mcpName}`] = {
      post: {
        operationId: op.mcpName,
        summary: op.title,
        description: op.description,
        'x-twl-annotations': op.annotations,
        'x-twl-min-role': op.policy.minRole,
        requestBody: { required: true, content: { 'application/json': { schema: z.toJSONSchema(op.input, { io: 'input', target: 'draft-2020-12' }) } } },
        responses: {
          '200': { description: 'The result, as the CLI prints it under --json.', content: { 'application/json': { schema: { type: 'object', properties: { result: z.toJSONSchema(op.output, { target: 'draft-2020-12' }) } } } } },
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
