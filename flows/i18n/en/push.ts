/** The mobile app method: Web Push notifications and the authenticator app at /app. */
export const enPush = {
  'push.notification.title': 'Sign-in request',
  'push.notification.body': 'Open to approve or deny it. Type the number shown on your screen.',
} as const;
