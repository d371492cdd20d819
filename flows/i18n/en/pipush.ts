/** What the privacyIDEA Authenticator shows for a push (title and question of the challenge it polls). */
export const enPipush = {
  'pipush.title': '{service} sign-in',
  'pipush.question': 'Sign in to {service}{from}? Tap the number shown on your sign-in screen.',
  'pipush.from': ' from {ip}',
} as const;
