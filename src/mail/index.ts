export { devMailRoutes } from './dev-mail-routes.js';
export { createDevMailbox, type DevMail, type DevMailbox, type DevMailboxOptions } from './dev-mailbox.js';
export {
  assertSendable,
  containsFullPhoneNumber,
  type MailCheck,
  MailError,
  type MailErrorCode,
  type Mailer,
  type MailMessage,
  type SentMail,
} from './mailer.js';
export { createSmtpMailer, parseSmtpUrl, type SmtpMailerOptions } from './smtp-mailer.js';
export {
  type ChangeNoticeParams,
  changeNotice,
  type EnrollmentInviteParams,
  enrollmentInvite,
  type MailContent,
  type SettingChange,
} from './templates.js';
