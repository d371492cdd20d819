// Activation: the URL and code typed, pasted from the QR code's content, or scanned with the camera
// (BarcodeDetector, where the browser has it); then the signed registration of a new non-extractable key.
import { activate, parseActivationLink, Refused, Unreachable } from './device-api.js';
import { saveDevice } from './key-store.js';
import { t } from './strings.js';

const $ = (id) => document.getElementById(id);

function platformOf(agent) {
  if (/iPhone|iPad|iPod/.test(agent)) return 'ios';
  if (/Android/.test(agent)) return 'android';
  return 'desktop';
}

function defaultName(agent) {
  const browser = /Edg\//.test(agent)
    ? 'Edge'
    : /Firefox\//.test(agent)
      ? 'Firefox'
      : /Chrom(e|ium)\//.test(agent)
        ? 'Chrome'
        : /Safari\//.test(agent)
          ? 'Safari'
          : 'Browser';
  const platform = { ios: 'iOS', android: 'Android', desktop: 'computer' }[platformOf(agent)];
  return t('activate.default-name', { browser, platform });
}

function fillFromLink(text) {
  const link = parseActivationLink(text);
  if (!link) return false;
  $('activation-url').value = link.url;
  if (link.code) $('activation-code').value = link.code;
  return true;
}

function showError(text) {
  const box = $('activation-error');
  box.textContent = text;
  box.hidden = !text;
}

function refusalText(error) {
  if (error instanceof Unreachable) return t('unreachable', { host: location.host });
  if (error instanceof Refused) {
    if (error.code === 'activation_refused') return t('activate.refused');
    if (error.code === 'too_many_devices') return t('activate.too-many');
    if (error.code === 'user_locked') return t('activate.locked');
    return t('activate.failed', { code: error.code });
  }
  return t('activate.failed', { code: String(error?.message ?? error) });
}

/** The activation URL must belong to the server this app came from (the CSP lets it talk to no other). */
function checkedUrl(text) {
  let url;
  try {
    url = new URL(text.trim());
  } catch {
    return null;
  }
  if (url.origin !== location.origin) {
    showError(t('activate.other-server', { origin: location.origin }));
    return undefined;
  }
  return /^\/device\/v1\/activations\/[A-Za-z0-9_-]+$/.test(url.pathname) ? url.href : null;
}

let scanning = null;

function stopScan() {
  if (!scanning) return;
  scanning.stop();
  scanning = null;
  $('camera').hidden = true;
  $('scan-stop').hidden = true;
  $('scan-hint').hidden = true;
}

async function startScan() {
  const video = $('camera');
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
  } catch {
    showError(t('activate.no-camera'));
    return;
  }
  const detector = new BarcodeDetector({ formats: ['qr_code'] });
  let running = true;
  scanning = {
    stop() {
      running = false;
      for (const track of stream.getTracks()) track.stop();
      video.srcObject = null;
    },
  };
  video.srcObject = stream;
  video.hidden = false;
  $('scan-stop').hidden = false;
  $('scan-hint').hidden = false;
  await video.play().catch(() => {});
  while (running) {
    try {
      for (const code of await detector.detect(video)) {
        if (fillFromLink(code.rawValue)) {
          stopScan();
          $('device-name').focus();
          return;
        }
      }
    } catch {
      // a frame that could not be read: try the next one
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Shows the activation form; resolves with the saved device once an activation succeeds. */
export function showActivation(message = '') {
  $('activation').hidden = false;
  $('home').hidden = true;
  showError(message);
  $('device-name').value = defaultName(navigator.userAgent);
  // Opened from the QR code: URL and code arrive in the fragment (never sent to a server); keep them out of
  // the address bar and history.
  if (location.hash && fillFromLink(location.href)) history.replaceState(null, '', location.pathname);
  if ('BarcodeDetector' in window && navigator.mediaDevices?.getUserMedia) $('scan').hidden = false;

  return new Promise((resolve) => {
    const form = $('activate-form');
    const urlField = $('activation-url');
    urlField.oninput = () => fillFromLink(urlField.value);
    $('scan').onclick = () => {
      showError('');
      startScan();
    };
    $('scan-stop').onclick = stopScan;
    form.onsubmit = async (event) => {
      event.preventDefault();
      stopScan();
      showError('');
      fillFromLink(urlField.value);
      const url = checkedUrl(urlField.value);
      if (url === undefined) return;
      const code = $('activation-code').value.replace(/[\s-]/g, '');
      const name = $('device-name').value.trim() || defaultName(navigator.userAgent);
      if (!url || !/^\d{12}$/.test(code)) return showError(t('activate.missing'));
      const button = $('activate');
      button.disabled = true;
      button.textContent = t('activate.working');
      try {
        const device = await activate(url, code, { name, platform: platformOf(navigator.userAgent) });
        await saveDevice(device);
        form.reset();
        $('activation').hidden = true;
        resolve(device);
      } catch (error) {
        showError(refusalText(error));
      } finally {
        button.disabled = false;
        button.textContent = t('activate.submit');
      }
    };
  });
}
