// Pending sign-in requests: what is signing in, from where and when; the number typed from the screen that
// asked, the PIN when the user has one; Approve, Deny or "I did not ask for this" (fraud).
import { Refused, Unreachable } from './device-api.js';
import { language, t, translateTree } from './strings.js';

const $ = (id) => document.getElementById(id);
const cards = new Map(); // challenge id -> {challenge, element}

function purposeText(purpose) {
  if (purpose === 'portal-login') return t('purpose.portal-login');
  if (purpose.startsWith('enroll')) return t('purpose.enroll');
  return t('purpose.api');
}

export function showResult(text) {
  const box = $('result');
  box.textContent = text;
  box.hidden = !text;
}

function resultText(answer) {
  switch (answer.status) {
    case 'approved':
      return t('result.approved');
    case 'denied':
      return t('result.denied');
    case 'fraud':
      return t('result.fraud');
    case 'expired':
      return t('result.expired');
    case 'failed':
      return t('result.failed');
    default:
      return t('result.closed');
  }
}

function secondsLeft(challenge, skewMs) {
  return Math.max(0, Math.ceil((Date.parse(challenge.expiresAt) - (Date.now() + skewMs)) / 1000));
}

function close(id, text) {
  const card = cards.get(id);
  if (!card) return;
  card.element.remove();
  cards.delete(id);
  showResult(text);
}

function newCard(challenge, api) {
  const element = $('request-template').content.firstElementChild.cloneNode(true);
  translateTree(element);
  element.dataset.id = challenge.id;
  const unknown = t('request.unknown');
  element.querySelector('.request-title').textContent = t('request.title', {
    service: challenge.service,
    purpose: purposeText(challenge.purpose),
  });
  element.querySelector('.request-from').textContent = challenge.ip ?? unknown;
  element.querySelector('.request-browser').textContent = challenge.userAgent ?? unknown;
  element.querySelector('.request-when').textContent = new Date(challenge.createdAt).toLocaleString(language);
  const number = element.querySelector('.request-number');
  number.maxLength = challenge.numberDigits;
  number.placeholder = '•'.repeat(challenge.numberDigits);
  const pin = element.querySelector('.request-pin');
  if (!challenge.pinRequired) element.querySelector('.pin-label').remove();
  const error = element.querySelector('.request-error');
  const buttons = [...element.querySelectorAll('button')];

  const send = async (decision) => {
    error.hidden = true;
    const extra = {};
    if (decision === 'approve') {
      const typed = number.value.replace(/\s/g, '');
      if (!new RegExp(`^\\d{${challenge.numberDigits}}$`).test(typed)) {
        error.textContent = t('request.need-number', { digits: challenge.numberDigits });
        error.hidden = false;
        return number.focus();
      }
      extra.number = typed;
      if (challenge.pinRequired) {
        if (!pin.value) {
          error.textContent = t('request.need-pin');
          error.hidden = false;
          return pin.focus();
        }
        extra.pin = pin.value;
      }
    }
    for (const button of buttons) button.disabled = true;
    cards.get(challenge.id).answering = true; // the answer's own verdict is shown, not "closed"
    try {
      close(challenge.id, resultText(await api.answer(challenge, decision, extra)));
    } catch (failure) {
      if (
        failure instanceof Refused &&
        ['challenge_closed', 'challenge_not_found', 'stale_challenge'].includes(failure.code)
      )
        return close(challenge.id, t('result.closed'));
      error.textContent =
        failure instanceof Unreachable
          ? t('unreachable', { host: location.host })
          : t('result.error', { code: failure.code ?? String(failure) });
      error.hidden = false;
    } finally {
      if (cards.has(challenge.id)) cards.get(challenge.id).answering = false;
      for (const button of buttons) button.disabled = false;
    }
  };
  element.querySelector('.request-form').onsubmit = (event) => {
    event.preventDefault();
    send('approve');
  };
  element.querySelector('.deny').onclick = () => send('deny');
  element.querySelector('.fraud').onclick = () => send('fraud');
  return element;
}

/** Shows new requests and drops the ones the server no longer lists, leaving typed input alone. */
export function renderRequests(challenges, api) {
  const listed = new Set(challenges.map((c) => c.id));
  for (const [id, card] of [...cards]) if (!listed.has(id) && !card.answering) close(id, t('result.closed'));
  for (const challenge of challenges) {
    if (cards.has(challenge.id)) continue;
    const element = newCard(challenge, api);
    cards.set(challenge.id, { challenge, element, answering: false });
    $('requests').append(element);
    showResult('');
    if (cards.size === 1) element.querySelector('.request-number').focus();
  }
  $('poll-status').textContent = cards.size === 0 ? t('poll.waiting') : '';
  tick(api.clock.skewMs);
}

/** Once a second: the countdown, and an expired request closes by itself. */
export function tick(skewMs) {
  for (const { challenge, element } of [...cards.values()]) {
    const seconds = secondsLeft(challenge, skewMs);
    if (seconds === 0) close(challenge.id, t('result.expired'));
    else element.querySelector('.request-expires').textContent = t('request.expires', { seconds });
  }
}

export function clearRequests() {
  for (const id of [...cards.keys()]) cards.get(id).element.remove();
  cards.clear();
}
