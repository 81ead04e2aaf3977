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
    'TWL_HOME is included when it is set, so the client shares your data directory.';
  static override examples = ['<%= config.bin %> <%= command.id %> --client claude', '<%= config.bin %> <%= command.id %> --client vscode --json'];
  static override flags = {
    client: Flags.string({ description: 'The MCP client.', options: ['claude', 'cursor', 'vscode', 'inspector'], default: 'claude' }),
  };

  async run(): Promise<Result> {
    const { flags } = await this.parse(McpConfig);
    const server: Record<string, unknown> = {
      command: process.execPath,
      args: [path.join(this.config.root, 'bin', 'run.js'), 'serve', '--stdio'],
      ...(process.env.TWL_HOME ? { env: { TWL_HOME: path.resolve(process.env.TWL_HOME) } } : {}),
    };
    // VS Code names the map "servers" and wants the transport type; the others use "mcpServers".
    const snippet = flags.client === 'vscode' ? { servers: { twl: { type: 'stdio', ...server } } } : { mcpServers: { twl: server } };
    this.log(`// put this in ${where[flags.client]}`);
    this.log(JSON.stringify(snippet, null, 2));
    return { client: flags.client, file: where[flags.client]!, snippet };
  }
}
