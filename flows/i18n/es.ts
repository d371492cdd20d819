import type { MessageKey } from './en.js';
import { esApp } from './es/app.js';
import { esPipush } from './es/pipush.js';
import { esPush } from './es/push.js';

export const es: Record<MessageKey, string> = {
  'sms.code.reply':
    '{code} es su código de {service}. Responda {code} para verificar que es usted. Responda 0 si no lo solicitó.',
  'sms.code.reply-pin':
    '{code} es su código de {service}. Responda {code} seguido de su PIN para verificar que es usted. Responda 0 si no lo solicitó.',
  'sms.code.screen':
    '{code} es su código de {service}. Escríbalo en la pantalla de acceso. No lo comparta con nadie.',
  'sms.approved': 'Verificación completada. Puede cerrar esta conversación.',
  'sms.wrong': 'La respuesta no es correcta. Le quedan {remaining} intentos.',
  'sms.failed': 'La verificación ha fallado. Vuelva a empezar desde la pantalla de acceso.',
  'sms.expired': 'El código ha caducado. Vuelva a empezar desde la pantalla de acceso.',
  'sms.unreadable': 'Responda con el código del mensaje anterior, o 0 para denunciar un fraude.',
  'sms.unreadable-pin':
    'Responda con el código del mensaje anterior seguido de su PIN, o 0 para denunciar un fraude.',
  'sms.fraud': 'Gracias. El acceso se ha bloqueado y se ha avisado a su administrador.',
  'sms.help':
    '{service}: mensajes para verificar el acceso. Responda STOP para darse de baja. Pueden aplicarse tarifas de mensajes y datos.',
  'sms.stop':
    '{service}: se ha dado de baja y no recibirá más mensajes. Responda START para volver a suscribirse.',
  'sms.start':
    '{service}: vuelve a estar suscrito a los mensajes de acceso. Responda HELP para ayuda, STOP para darse de baja.',
  'voice.greeting': 'Hola. Le llama {service} para verificar su acceso.',
  'voice.ask.pin': 'Introduzca su PIN, seguido de la tecla almohadilla.',
  'voice.ask.standard': 'Pulse la tecla almohadilla para completar el acceso.',
  'voice.ask.code': 'Introduzca el código que aparece en su pantalla, seguido de la tecla almohadilla.',
  'voice.fraud-hint': 'Si no ha intentado acceder, pulse cero y después almohadilla.',
  'voice.fraud-hint.standard': 'Si no ha intentado acceder, pulse cero.',
  'voice.problem.wrong': 'No es correcto.',
  'voice.problem.no-input': 'No hemos oído nada.',
  'voice.problem.mismatch': 'Los dos PIN no coinciden.',
  'pin.hint': 'De {min} a {max} dígitos, difícil de adivinar.',
  'pin.problem.length': 'Un PIN tiene entre {min} y {max} dígitos.',
  'pin.problem.not-digits': 'Un PIN solo tiene dígitos.',
  'pin.problem.trivial':
    'Ese PIN es demasiado fácil de adivinar: sin dígitos repetidos, series, años ni PIN habituales.',
  'pin.problem.phone-digits': 'El PIN no puede formar parte de su número de teléfono.',
  'pin.problem.same-as-old': 'El nuevo PIN debe ser distinto del anterior.',
  'voice.new-pin':
    'Debe cambiar su PIN. Introduzca un PIN nuevo de {min} a {max} dígitos, seguido de la tecla almohadilla.',
  'voice.confirm-pin': 'Vuelva a introducir el PIN nuevo, seguido de la tecla almohadilla.',
  'voice.verified': 'Verificación completada. Adiós.',
  'voice.failed': 'La verificación ha fallado. Adiós.',
  'voice.fraud': 'Gracias. El acceso se ha bloqueado y se ha avisado a su administrador. Adiós.',
  'voice.goodbye': 'Adiós.',
  ...esPush,
  ...esApp,
  ...esPipush,
};
