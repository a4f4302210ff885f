// The peer baseline: a bare socket.io 4 server on Node doing what Parley's fan-out does,
// without auth, membership or storage. WebSocket only.
//
// The same slice of Parley's contract as python_server.py, so one load generator drives
// all three: namespace /chat; a socket joins the rooms listed in its auth.rooms (Parley
// reads them from the database instead); `sendMessage` {conversationId, clientId, content}
// is acknowledged {ok: true, data: message} and `newMessage` goes to the room.
//
//   node bench/baselines/node_server.mjs PORT
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.argv[2] ?? 8100);
const httpServer = createServer();
const io = new Server(httpServer, { transports: ['websocket'], serveClient: false });
const lastSeq = new Map();

const chat = io.of('/chat');
chat.on('connection', (socket) => {
  const rooms = socket.handshake.auth?.rooms;
  if (Array.isArray(rooms)) socket.join(rooms.map(String));
  socket.on('sendMessage', (payload, ack) => {
    const conversationId = String(payload?.conversationId);
    const seq = (lastSeq.get(conversationId) ?? 0) + 1;
    lastSeq.set(conversationId, seq);
    const message = {
      id: `${conversationId}:${seq}`,
      conversationId,
      seq,
      clientId: payload?.clientId,
      content: payload?.content,
      createdAt: new Date().toISOString(),
    };
    chat.to(conversationId).emit('newMessage', message);
    if (typeof ack === 'function') ack({ ok: true, data: message });
  });
});

httpServer.listen(port, '127.0.0.1', () => {
  console.log(`node socket.io baseline on http://127.0.0.1:${port}`);
});
