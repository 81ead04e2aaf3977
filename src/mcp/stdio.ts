import { ReadBuffer, serializeMessage, type JSONRPCMessage, type Transport } from '@modelcontextprotocol/server';

type Id = string | number;

const requestId = (m: JSONRPCMessage): Id | undefined => ('method' in m && 'id' in m ? (m.id as Id) : undefined);
const responseId = (m: JSONRPCMessage): Id | undefined => (!('method' in m) && 'id' in m ? (m.id as Id) : undefined);

/**
 * MCP over stdin/stdout (newline-delimited JSON-RPC) that still answers the requests in flight
 * when the client closes stdin, within `graceMs`, then closes. The SDK's stdio transport closes
 * at end of input and drops them: a `tools/call` that had created a ticket was never answered.
 * `ended` resolves with the reason once the transport has closed.
 */
export function drainingStdio(
  graceMs: number,
  input: NodeJS.ReadableStream = process.stdin,
  output: NodeJS.WritableStream = process.stdout,
  /** A request the face answers itself: a promise of the answer (undefined: the server handles it after all), or undefined to pass it on at once. */
  divert?: (message: JSONRPCMessage) => Promise<JSONRPCMessage | undefined> | undefined,
): { transport: Transport; ended: Promise<string> } {
  const buffer = new ReadBuffer();
  const inFlight = new Set<Id>();
  let closed = false;
  let drained: (() => void) | undefined;
  let endReason = 'closed';
  let resolveEnded: (reason: string) => void;
  const ended = new Promise<string>((resolve) => (resolveEnded = resolve));
  const settle = (id: Id) => {
    inFlight.delete(id);
    if (!inFlight.size) drained?.();
  };

  const onData = (chunk: Buffer) => {
    buffer.append(chunk);
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = buffer.readMessage();
      } catch (err) {
        transport.onerror?.(err as Error);
        continue;
      }
      if (message === null) break;
      const id = requestId(message);
      if (id !== undefined) inFlight.add(id);
      else if ('method' in message && message.method === 'notifications/cancelled') {
        const cancelled = (message.params as { requestId?: Id } | undefined)?.requestId;
        if (cancelled !== undefined) settle(cancelled);
      }
      const diverted = divert?.(message);
      if (!diverted) transport.onmessage?.(message);
      else {
        const m = message;
        void diverted.then(
          (answer) => (answer ? transport.send(answer).catch(() => undefined) : transport.onmessage?.(m)),
          () => transport.onmessage?.(m),
        );
      }
    }
  };
  const onError = (err: Error) => transport.onerror?.(err);
  const onEnd = () => {
    if (closed) return;
    if (!inFlight.size) {
      endReason = 'stdin closed';
      return void transport.close();
    }
    const timer = setTimeout(() => {
      endReason = `stdin closed; ${inFlight.size} call(s) still unanswered after ${graceMs} ms`;
      void transport.close();
    }, graceMs);
    drained = () => {
      clearTimeout(timer);
      endReason = 'stdin closed; the calls in flight were answered';
      void transport.close();
    };
  };

  const transport: Transport = {
    start: async () => {
      input.on('data', onData);
      input.on('error', onError);
      input.once('end', onEnd);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      drained = undefined;
      input.off('data', onData);
      input.off('error', onError);
      input.off('end', onEnd);
      input.pause();
      buffer.clear();
      transport.onclose?.();
      resolveEnded(endReason);
    },
    send: (message: JSONRPCMessage) => {
      if (closed) return Promise.reject(new Error('The stdio connection is closed.'));
      const id = responseId(message);
      return new Promise<void>((resolve, reject) => {
        output.write(serializeMessage(message), (err) => {
          if (id !== undefined) settle(id);
          if (err) reject(err);
          else resolve();
        });
      });
    },
  };
  return { transport, ended };
}
