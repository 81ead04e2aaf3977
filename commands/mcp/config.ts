import { Flags } from '@oclif/core';
import path from 'node:path';
import { TwlCommand } from '../../src/cli/base.js';

interface Result {
  client: string;
  file: string;
  snippet: Record<string, unknown>;
}

const where: Record<string, string> = {
  claude: 'the project\'s .mcp.json (or `claude mcp add-json twl \'…\'`)',
  cursor: '.cursor/mcp.json in the project, or ~/.cursor/mcp.json',
  vscode: '.vscode/mcp.json in the workspace',
  inspector: 'a file passed to `npx @modelcontextprotocol/inspector --config FILE --server twl`',
};

export default class McpConfig extends TwlCommand<Result> {
  static override summary = 'Print the MCP client configuration that runs this twl over stdio.';
  static override description =
    'The snippet uses absolute paths to this twl and to the Node.js runtime running it, so the client starts exactly this installation whatever its own PATH. ' +
    'TWL_HOME and TWL_CONFIG are included when they are set, so the client shares your data directory and configuration. ' +
    'Only the JSON goes to stdout (where to put it goes to stderr), so `twl mcp config --client claude > .mcp.json` writes a valid file.';
  static override examples = ['<%= config.bin %> <%= command.id %> --client claude > .mcp.json', '<%= config.bin %> <%= command.id %> --client vscode --json'];
  static override flags = {
    client: Flags.string({ description: 'The MCP client.', options: ['claude', 'cursor', 'vscode', 'inspector'], default: 'claude' }),
  };

  async run(): Promise<Result> {
    const { flags } = await this.parse(McpConfig);
    const server: Record<string, unknown> = {
      command: process.execPath,
      args: [path.join(this.config.root, 'bin', 'run.js'), 'serve', '--stdio'],
    };
    // The client starts twl elsewhere: pass on where this one's data and configuration are (paths only, never secrets).
    const env = Object.fromEntries(['TWL_HOME', 'TWL_CONFIG'].flatMap((name) => (process.env[name] ? [[name, path.resolve(process.env[name])]] : [])));
    if (Object.keys(env).length) server.env = env;
    // VS Code names the map "servers" and wants the transport type; the others use "mcpServers".
    const snippet = flags.client === 'vscode' ? { servers: { twl: { type: 'stdio', ...server } } } : { mcpServers: { twl: server } };
    // stdout carries only the JSON, so `twl mcp config > .mcp.json` writes a valid file.
    if (!this.jsonEnabled()) process.stderr.write(`Put this in ${where[flags.client]}:\n`);
    this.log(JSON.stringify(snippet, null, 2));
    return { client: flags.client, file: where[flags.client]!, snippet };
  }
}
