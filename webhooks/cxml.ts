import type { VoicePrompt } from '../src/carriers/voice-port.js';

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>';

export function escapeXml(value: string): string {
  return value.replace(
    /[<>&"']/g,
    (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' }[c]};`,
  );
}

/**
 * A prompt as cXML. A gather wraps its sentences so a key press interrupts them; when the caller stays silent
 * (or presses only '#') the carrier moves on to the Redirect, which reports the silence to the same gather URL.
 */
export function renderPrompt(prompt: VoicePrompt, gatherUrl: string): string {
  const says = prompt.say
    .map((text) => `<Say language="${prompt.language}">${escapeXml(text)}</Say>`)
    .join('');
  if (prompt.next.kind === 'hangup') return `${XML_HEAD}<Response>${says}<Hangup/></Response>`;
  const { finishOnKey, maxDigits, timeoutSec } = prompt.next;
  const action = escapeXml(gatherUrl);
  const silence = escapeXml(`${gatherUrl}&noinput=1`);
  return (
    `${XML_HEAD}<Response>` +
    `<Gather input="dtmf" action="${action}" method="POST" finishOnKey="${finishOnKey}" numDigits="${maxDigits}" timeout="${timeoutSec}">` +
    `${says}</Gather><Redirect method="POST">${silence}</Redirect></Response>`
  );
}

export const HANGUP_CXML = `${XML_HEAD}<Response><Hangup/></Response>`;
