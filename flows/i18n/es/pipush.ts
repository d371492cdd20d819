import type { enPipush } from '../en/pipush.js';

export const esPipush: Record<keyof typeof enPipush, string> = {
  'pipush.title': 'Inicio de sesión en {service}',
  'pipush.question':
    '¿Iniciar sesión en {service}{from}? Toque el número que aparece en su pantalla de inicio de sesión.',
  'pipush.from': ' desde {ip}',
};
