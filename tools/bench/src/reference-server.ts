/**
 * The reference the realtime benchmark measures SecureChat against: a plain Socket.IO 4.8
 * broadcast server, as a team would write one in an afternoon. No accounts, no storage, no
 * limits: every socket joins one room on connection, and each `m` event is broadcast to the
 * room with `io.to(room).emit` (the sender included, as SecureChat delivers to the sender's
 * devices too), then acknowledged. WebSocket transport only (what the generator speaks), and
 * `GET /api/health` so the benchmark starts it like the real server (server-process.ts).
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const ROOM = 'general';
const port = Number(process.env.PORT ?? 0);

const http = createServer((request, response) => {
  response.writeHead(request.url === '/api/health' ? 200 : 404).end();
});
const io = new Server(http, { transports: ['websocket'], serveClient: false });
io.on('connection', (socket) => {
  void socket.join(ROOM);
  socket.on('m', (payload: unknown, ack: unknown) => {
    io.to(ROOM).emit('m', payload);
    if (typeof ack === 'function') (ack as () => void)();
  });
});
http.listen(port, process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => {
  void io.close();
  process.exit(0);
});
