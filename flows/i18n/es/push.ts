import type { enPush } from '../en/push.js';

export const esPush: Record<keyof typeof enPush, string> = {
  'push.notification.title': 'Solicitud de inicio de sesión',
  'push.notification.body': 'Ábrala para aprobarla o rechazarla. Escriba el número que ve en su pantalla.',
};
