import { Flags } from '@oclif/core';
import { TwlCommand } from '../src/cli/base.js';
import { TwlError } from '../src/runtime/errors.js';

export default class Serve extends TwlCommand<void> {
  static override summary = 'Serve every twl operation as an MCP tool.';
  static override description =
    'With --stdio, speaks MCP on stdin/stdout for IDE clients (Claude Code, Cursor, VS Code): stdout carries only the protocol, logs go to stderr.\n' +
    'While it runs it hosts the embedded store on a socket in the data directory, so other twl commands keep working beside it.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> --stdio',
    '<%= config.bin %> <%= command.id %> --stdio --verbose 2>twl-mcp.log',
  ];
  static override enableJsonFlag = false;
  static override flags = {
    stdio: Flags.boolean({ description: 'Speak MCP over stdin/stdout.' }),
  };

  protected override runtimeOptions() {
    return { ...super.runtimeOptions(), role: 'twl serve', host: true, actor: 'mcp:stdio' };
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(Serve);
    if (!flags.stdio) throw new TwlError('TWL_INPUT_INVALID', 'Choose a transport: --stdio.', { actions: ['Run `twl serve --stdio` from your MCP client configuration.'] });
    const runtime = await this.runtime();
    // Hold the embedded store from the start, so other processes share it through the socket.
    await runtime.store();
    const [{ opCommands, createMcpServer }, { StdioServerTransport }] = await Promise.all([
      import('../src/mcp/server.js'),
      import('@modelcontextprotocol/sdk/server/stdio.js'),
    ]);
    const server = createMcpServer(await opCommands(this.config), runtime, this.config.version);
    const transport = new StdioServerTransport();
    const closed = new Promise<void>((resolve) => {
      transport.onclose = () => resolve();
      process.stdin.once('end', () => resolve());
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await server.connect(transport);
    runtime.logger.info({ transport: 'stdio' }, 'twl MCP server ready');
    await closed;
    await server.close().catch(() => undefined);
  }
}
