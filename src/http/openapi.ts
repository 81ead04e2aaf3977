import type { CatalogTool } from '../tools/types.js';

/** An OpenAPI 3.1 document for the REST face, generated from the catalog's tools (twl's ops' own schemas, upstream tools' declared ones). */
export function openApiDocument(tools: CatalogTool[], version: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {
    '/api/tools': { get: { summary: 'List the tools', operationId: 'listTools', responses: { '200': { description: 'The tools with their schemas.' } } } },
    '/api/events': {
      get: {
        summary: 'Follow the change feed (Server-Sent Events)',
        operationId: 'events',
        description:
          'Task and execution statuses, execution output lines and agent statuses as they happen, filtered by the caller\'s role. Each event: `id:` its feed id, `event:` topic.kind, `data:` {id, at, topic, subject, kind, payload}. Resume with the Last-Event-ID header (or `after`); when the events after it were deleted by the retention pass (store.eventRetention), the stream starts with `event: pruned` (no id; `data`: {after, prunedThrough, oldest, message}): re-read the state you follow. A `: ping` comment every http.events.heartbeat seconds; `event: close` when the server drains. See docs/tasks.md.',
        parameters: [
          { name: 'topics', in: 'query', description: 'Comma-separated: agent, task, execution, workflow.', schema: { type: 'string' } },
          { name: 'kinds', in: 'query', description: 'Comma-separated: status, output.', schema: { type: 'string' } },
          { name: 'task', in: 'query', description: 'Only this task: its statuses and its executions\' statuses and lines.', schema: { type: 'integer', minimum: 1 } },
          { name: 'subject', in: 'query', description: 'Only this subject (an agent\'s name, a task\'s or an execution\'s id); needs exactly one topic.', schema: { type: 'string', maxLength: 200 } },
          { name: 'after', in: 'query', description: 'Start after this event id (the backlog first, then live events).', schema: { type: 'integer', minimum: 0 } },
          { name: 'Last-Event-ID', in: 'header', description: 'Resume after this event id (sent by reconnecting EventSource clients; wins over `after`).', schema: { type: 'integer', minimum: 0 } },
        ],
        responses: {
          '200': { description: 'The event stream.', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          '400': { description: 'A bad filter, named in the message.' },
          '401': { description: 'No valid API key or access token.' },
          '429': { description: 'Too many streams open for this key (http.events.perKey).' },
        },
      },
    },
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
