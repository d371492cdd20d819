import { createHmac } from 'node:crypto';
import type { Config } from '../config/load-config.js';
import type { Logger } from '../log.js';
import { createCxmlMessaging } from './cxml-messaging.js';
import type { CxmlRestOptions } from './cxml-rest.js';
import { createCxmlVoice } from './cxml-voice.js';
import type { MessagingCarrier } from './messaging-port.js';
import { createRelayMessaging } from './relay-messaging.js';
import { createRelayVoice } from './relay-voice.js';
import type { VoiceCarrier, VoiceSessionHandler } from './voice-port.js';

export const SIMULATOR_PROJECT_ID = 'simulator-project';

/** The simulator's REST credentials: derived from the signing key, so every engine process agrees on them. */
export function simulatorApiToken(signingKey: string): string {
  return createHmac('sha256', signingKey).update('simulator-api-token').digest('base64url');
}

/** The simulator's fake space on this server, with the credentials derived from the signing key. */
function simulatorSpace(config: Config): CxmlRestOptions {
  return {
    spaceUrl: `${config.publicUrl}/dev/carrier/space`,
    projectId: SIMULATOR_PROJECT_ID,
    apiToken: simulatorApiToken(config.signingKey),
  };
}

/** The configured SignalWire space's Compatibility REST API. */
function signalwireSpace(config: Config): CxmlRestOptions {
  const sw = config.signalwire;
  return { spaceUrl: sw.spaceUrl ?? '', projectId: sw.projectId ?? '', apiToken: sw.apiToken ?? '' };
}

export function selectCarrier(config: Config, logger: Logger): MessagingCarrier {
  const sw = config.signalwire;
  switch (config.carrier) {
    case 'simulator':
      // The simulator is a fake space on this server: outbound texts take the real cXML REST path.
      return createCxmlMessaging({ name: 'simulator', ...simulatorSpace(config) });
    case 'signalwire-cxml':
      return createCxmlMessaging(signalwireSpace(config));
    case 'signalwire-relay':
      return createRelayMessaging(
        {
          project: sw.projectId ?? '',
          token: sw.apiToken ?? '',
          topics: sw.relayTopics,
          connectTimeoutMs: sw.connectTimeoutMs,
        },
        { logger },
      );
  }
}

/** A voice carrier, and the lifecycle hooks the Relay one has (it connects itself; cXML has nothing to start). */
export type ManagedVoiceCarrier = VoiceCarrier & {
  start?(): Promise<void>;
  stop?(): Promise<void>;
  readiness?(): { ok: boolean; detail: string };
};

export function selectVoiceCarrier(
  config: Config,
  handler: VoiceSessionHandler,
  logger: Logger,
): ManagedVoiceCarrier {
  const sw = config.signalwire;
  switch (config.carrier) {
    case 'simulator':
      return createCxmlVoice({ name: 'simulator', ...simulatorSpace(config), publicUrl: config.publicUrl });
    case 'signalwire-cxml':
      return createCxmlVoice({ ...signalwireSpace(config), publicUrl: config.publicUrl });
    case 'signalwire-relay':
      return createRelayVoice(
        { project: sw.projectId ?? '', token: sw.apiToken ?? '', connectTimeoutMs: sw.connectTimeoutMs },
        { handler, logger },
      );
  }
}
