import { AuthScreen } from '../features/auth/AuthScreen';
import { ChatApp } from './ChatApp';
import { useSession } from './session';

export function App() {
  const { session, endReason } = useSession();
  if (!session) return <AuthScreen endReason={endReason} />;
  return <ChatApp key={session.user.id} me={session.user} />;
}
