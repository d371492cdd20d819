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
} as const;

export type MessageKey = keyof typeof en;
