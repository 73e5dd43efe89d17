import { StringDecoder } from 'node:string_decoder';

/**
 * Splits a streamed body into non-empty lines (the watch protocol is one JSON event per line).
 * `onData` fires for every chunk, partial lines included: any byte is proof the stream is alive.
 * Errors and premature closes of the body surface as a throw from the iteration.
 */
export async function* readLines(body: AsyncIterable<unknown>, onData: () => void): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  for await (const chunk of body) {
    onData();
    carry += typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer);
    let start = 0;
    for (let nl = carry.indexOf('\n'); nl >= 0; nl = carry.indexOf('\n', start)) {
      const line = carry.slice(start, nl);
      start = nl + 1;
      if (line.trim()) yield line;
    }
    carry = carry.slice(start);
  }
  carry += decoder.end();
  if (carry.trim()) yield carry;
}
