import { enApp } from './en/app.js';
import { enPipush } from './en/pipush.js';
import { enPush } from './en/push.js';

export const en = {
  'sms.code.reply':
    '{code} is your {service} code. Reply {code} to verify it is you. Reply 0 if you did not ask for it.',
  'sms.code.reply-pin':
    '{code} is your {service} code. Reply {code} followed by your PIN to verify it is you. Reply 0 if you did not ask for it.',
  'sms.code.screen':
    '{code} is your {service} code. Enter it on the sign-in screen. Never share it with anyone.',
  'sms.approved': 'You are verified. You can close this conversation.',
  'sms.wrong': 'That answer is not right. {remaining} tries left.',
  'sms.failed': 'Verification failed. Start again from the sign-in screen.',
  'sms.expired': 'That code has expired. Start again from the sign-in screen.',
  'sms.unreadable': 'Reply with the code from the previous text, or 0 to report fraud.',
  'sms.unreadable-pin':
    'Reply with the code from the previous text followed by your PIN, or 0 to report fraud.',
  'sms.fraud': 'Thank you. The sign-in was blocked and your administrator has been told.',
  'sms.help':
    '{service}: texts for sign-in verification. Reply STOP to opt out. Message and data rates may apply.',
  'sms.stop': '{service}: you are unsubscribed and will get no more texts. Reply START to subscribe again.',
  'sms.start': '{service}: you are subscribed again to sign-in texts. Reply HELP for help, STOP to opt out.',
  'voice.greeting': 'Hello. This is {service}, calling to verify your sign-in.',
  'voice.ask.pin': 'Please enter your PIN, followed by the pound key.',
  'voice.ask.standard': 'Press the pound key to finish signing in.',
  'voice.ask.code': 'Please enter the code shown on your screen, followed by the pound key.',
  'voice.fraud-hint': 'If you did not try to sign in, press zero, then pound.',
  'voice.fraud-hint.standard': 'If you did not try to sign in, press zero.',
  'voice.problem.wrong': 'That is not right.',
  'voice.problem.no-input': 'We did not hear anything.',
  'voice.problem.mismatch': 'The two PINs did not match.',
  'pin.hint': '{min} to {max} digits, not easy to guess.',
  'pin.problem.length': 'A PIN has {min} to {max} digits.',
  'pin.problem.not-digits': 'A PIN has digits only.',
  'pin.problem.trivial': 'That PIN is too easy to guess: no repeated digits, runs, years or common PINs.',
  'pin.problem.phone-digits': 'A PIN must not be part of your phone number.',
  'pin.problem.same-as-old': 'The new PIN must differ from the old one.',
  'voice.new-pin':
    'Your PIN must be changed. Enter a new PIN of {min} to {max} digits, followed by the pound key.',
  'voice.confirm-pin': 'Enter the new PIN again, followed by the pound key.',
  'voice.verified': 'You are verified. Goodbye.',
  'voice.failed': 'Verification failed. Goodbye.',
  'voice.fraud': 'Thank you. The sign-in was blocked and your administrator has been told. Goodbye.',
  'voice.goodbye': 'Goodbye.',
  ...enPush,
  ...enApp,
  ...enPipush,
} as const;

export type MessageKey = keyof typeof en;
