import { useState, type FormEvent } from 'react';
import { ApiError, publicApi } from '../../api/rest';
import { session } from '../../app/session';
import { detailSentence } from '../../core/format';
import type { EndReason } from '../../core/session';

type Mode = 'signIn' | 'signUp';

export function AuthScreen({ endReason }: { endReason: EndReason | null }) {
  const [mode, setMode] = useState<Mode>('signIn');
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const result =
        mode === 'signIn'
          ? await publicApi.login({ username, password })
          : await publicApi.register({ username, email, password, displayName: displayName.trim() || undefined });
      session.start(result);
    } catch (caught) {
      setError(describe(caught, mode));
    } finally {
      setBusy(false);
    }
  }

  const signingUp = mode === 'signUp';
  return (
    <div className="auth">
      <form className="auth__card" onSubmit={submit} aria-labelledby="auth-title">
        <div className="auth__brand" aria-hidden="true">
          P
        </div>
        <h1 id="auth-title">{signingUp ? 'Create your account' : 'Sign in to Parley'}</h1>
        {endReason === 'expired' && !error && (
          <p className="notice notice--warning" role="alert">
            Your session has ended. Please sign in again.
          </p>
        )}
        {error && (
          <p className="notice notice--error" role="alert">
            {error}
          </p>
        )}
        <label className="field">
          <span>{signingUp ? 'Username' : 'Username or email'}</span>
          <input
            name="username"
            autoComplete="username"
            required
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            autoFocus
          />
        </label>
        {signingUp && (
          <>
            <label className="field">
              <span>Email</span>
              <input
                name="email"
                type="email"
                autoComplete="email"
                required
                value={email}
                onChange={(e) => setEmail(e.target.value)}
              />
            </label>
            <label className="field">
              <span>Display name (optional)</span>
              <input
                name="displayName"
                autoComplete="name"
                value={displayName}
                onChange={(e) => setDisplayName(e.target.value)}
                maxLength={64}
              />
            </label>
          </>
        )}
        <label className="field">
          <span>Password</span>
          <input
            name="password"
            type="password"
            autoComplete={signingUp ? 'new-password' : 'current-password'}
            required
            minLength={signingUp ? 8 : undefined}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <button className="button button--primary" type="submit" disabled={busy}>
          {signingUp ? 'Sign up' : 'Sign in'}
        </button>
        <p className="auth__switch">
          {signingUp ? 'Already have an account?' : 'New to Parley?'}{' '}
          <button
            type="button"
            className="link-button"
            onClick={() => {
              setMode(signingUp ? 'signIn' : 'signUp');
              setError(null);
            }}
          >
            {signingUp ? 'Sign in' : 'Create an account'}
          </button>
        </p>
      </form>
    </div>
  );
}

function describe(error: unknown, mode: Mode): string {
  if (!(error instanceof ApiError)) return 'Cannot reach the server. Check your connection and try again.';
  if (error.code === 'unauthorized') return 'Wrong username or password.';
  if (error.code === 'conflict') return 'That username or email is already taken.';
  if (error.code === 'rate_limited') return 'Too many attempts. Wait a moment and try again.';
  // The detail names the failing field and what it needs; nothing else is added.
  if (error.code === 'validation_error' && mode === 'signUp') return detailSentence(error.message);
  return error.message;
}
