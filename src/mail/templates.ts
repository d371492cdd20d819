import type { SettingChange } from '../../flows/effects.js';
import type { Language } from '../../flows/i18n/index.js';
import { maskPhone } from '../log.js';
import type { Method } from '../users/user.js';
import { MailError } from './mailer.js';

/** What a template produces; the caller adds the recipient. */
export interface MailContent {
  subject: string;
  text: string;
}

export type { SettingChange };

export interface ChangeNoticeParams {
  displayName: string;
  /** Every setting that changed (the flow's `notifyUser` effect lists them); at least one. */
  changes: readonly SettingChange[];
  at: Date;
  serviceName: string;
}

export interface EnrollmentInviteParams {
  displayName: string;
  /** The self-service portal, http(s). */
  portalUrl: string;
  method: Method;
  /** The phone the method uses, masked (`maskPhone`); an unmasked number is masked here. */
  maskedPhone?: string;
  serviceName: string;
}

const CHANGES: Record<Language, Record<SettingChange, string>> = {
  en: {
    enrollment: 'sign-in verification was set up for your account',
    phone: 'your phone number was changed',
    pin: 'your PIN was changed',
    method: 'your verification method was changed',
    questions: 'your security questions were changed',
    'device-removed': 'an authenticator device was removed from your account',
  },
  es: {
    enrollment: 'se ha configurado la verificación de acceso de su cuenta',
    phone: 'se ha cambiado su número de teléfono',
    pin: 'se ha cambiado su PIN',
    method: 'se ha cambiado su método de verificación',
    questions: 'se han cambiado sus preguntas de seguridad',
    'device-removed': 'se ha quitado un dispositivo autenticador de su cuenta',
  },
};

/** Tells a user which sign-in settings changed, naming each (never what they changed to). */
export function changeNotice(language: Language, params: ChangeNoticeParams): MailContent {
  const service = oneLine(params.serviceName, 80) || 'MFA';
  const name = oneLine(params.displayName, 100);
  const listed = [...new Set(params.changes)];
  if (listed.length === 0)
    throw new MailError('mail_invalid_message', 'mail: a change notice names no change');
  const change = listed.map((c) => CHANGES[language][c]).join('; ');
  const at = formatTime(params.at);
  if (language === 'es') {
    return {
      subject: `Se ha modificado su configuración de acceso a ${service}`,
      text: [
        name ? `Hola, ${name}:` : 'Hola:',
        '',
        `Se ha modificado su configuración de acceso a ${service}: ${change} el ${at}.`,
        '',
        'Si no ha sido usted, póngase en contacto con su administrador.',
        '',
        footer('es', service),
      ].join('\n'),
    };
  }
  return {
    subject: `Your ${service} sign-in settings changed`,
    text: [
      name ? `Hello ${name},` : 'Hello,',
      '',
      `Your ${service} sign-in settings changed: ${change} on ${at}.`,
      '',
      'If this was not you, contact your administrator.',
      '',
      footer('en', service),
    ].join('\n'),
  };
}

/** Invites a user to enroll on the self-service portal. */
export function enrollmentInvite(language: Language, params: EnrollmentInviteParams): MailContent {
  const service = oneLine(params.serviceName, 80) || 'MFA';
  const name = oneLine(params.displayName, 100);
  const url = portalUrl(params.portalUrl);
  const phone = params.maskedPhone === undefined ? '' : safeMaskedPhone(params.maskedPhone);
  const method = methodLine(language, params.method, phone);
  if (language === 'es') {
    return {
      subject: `Configure su acceso a ${service}`,
      text: [
        name ? `Hola, ${name}:` : 'Hola:',
        '',
        `Le invitamos a configurar la verificación de acceso a ${service}.`,
        `Cómo verificará su identidad: ${method}.`,
        '',
        'Abra esta página para terminar la configuración:',
        url,
        '',
        'Si no esperaba esta invitación, no abra el enlace y póngase en contacto con su administrador.',
        '',
        footer('es', service),
      ].join('\n'),
    };
  }
  return {
    subject: `Set up your ${service} sign-in`,
    text: [
      name ? `Hello ${name},` : 'Hello,',
      '',
      `You are invited to set up ${service} sign-in verification.`,
      `How you will verify: ${method}.`,
      '',
      'Open this page to finish the setup:',
      url,
      '',
      'If you were not expecting this invitation, do not open the link and contact your administrator.',
      '',
      footer('en', service),
    ].join('\n'),
  };
}

function methodLine(language: Language, method: Method, phone: string): string {
  if (language === 'es') {
    switch (method) {
      case 'voice':
        return phone ? `una llamada al ${phone}` : 'una llamada al número que registró su administrador';
      case 'sms':
        return phone
          ? `un mensaje de texto al ${phone}`
          : 'un mensaje de texto al número que registró su administrador';
      case 'push':
        return 'una notificación en la aplicación móvil';
      case 'totp':
        return 'un código de su aplicación de autenticación';
    }
  }
  switch (method) {
    case 'voice':
      return phone ? `a phone call to ${phone}` : 'a phone call to the number your administrator registered';
    case 'sms':
      return phone
        ? `a text message to ${phone}`
        : 'a text message to the number your administrator registered';
    case 'push':
      return 'a notification in the mobile app';
    case 'totp':
      return 'a code from your authenticator app';
  }
}

function footer(language: Language, service: string): string {
  return language === 'es'
    ? `Este es un mensaje automático de ${service}; las respuestas no se leen.`
    : `This is an automatic message from ${service}; replies are not read.`;
}

/**
 * One line of at most `max` characters: line breaks and other control characters become spaces, so a display
 * name cannot add lines (or headers) of its own.
 */
function oneLine(value: string, max: number): string {
  const flat = String(value ?? '')
    .replace(/[\p{Cc}\p{Zl}\p{Zp}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = Array.from(flat);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : flat;
}

/** A phone shown in a mail is always masked: anything that still has all its digits is masked here. */
function safeMaskedPhone(value: string): string {
  const phone = oneLine(value, 32);
  if (!phone) return '';
  return phone.includes('*') ? phone : maskPhone(phone.replace(/[\s().-]/g, ''));
}

function portalUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new MailError('mail_invalid_message', 'mail: the portal URL is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new MailError('mail_invalid_message', 'mail: the portal URL must be http(s)');
  }
  return url.href;
}

/** `2026-01-01 09:30 UTC`: the same whatever the server's time zone. */
function formatTime(at: Date): string {
  const time = at.getTime();
  if (!Number.isFinite(time)) throw new MailError('mail_invalid_message', 'mail: the change time is invalid');
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
