/**
 * Every engine key shares one hash tag, so the commit script's keys live in one slot and the engine runs on a
 * Redis Cluster as on a single node (at the price of not sharding: see ARCHITECTURE.md).
 */
export class Keys {
  readonly tag: string;
  constructor(prefix: string) {
    this.tag = `{${prefix}}`;
  }
  flow = (id: string) => `${this.tag}:flow:${id}`;
  log = (id: string) => `${this.tag}:flow:${id}:log`;
  outbox = (id: string) => `${this.tag}:flow:${id}:outbox`;
  pendingOutboxes = () => `${this.tag}:outbox:pending`;
  idempotency = (key: string) => `${this.tag}:idem:${key}`;
  effectDone = (jobId: string) => `${this.tag}:effect-done:${jobId}`;
  effectClaim = (jobId: string) => `${this.tag}:effect-claim:${jobId}`;
  statusChannel = () => `${this.tag}:flow-status`;
  user = (username: string) => `${this.tag}:user:${username}`;
  users = () => `${this.tag}:users`;
  smsByPhone = (e164: string) => `${this.tag}:sms:to:${e164}`;
  smsBySid = (sid: string) => `${this.tag}:sms:sid:${sid}`;
  /** Delivery statuses that arrived before the carrier's REST answer told which flow the message is. */
  smsEarlyStatus = (sid: string) => `${this.tag}:sms:early:${sid}`;
  optOut = (e164: string) => `${this.tag}:sms:opt-out:${e164}`;
  rateLimit = (name: string) => `${this.tag}:rate:${name}`;
  audit = () => `${this.tag}:audit`;
  /** BullMQ's own prefix, hash-tagged the same way. */
  queuePrefix = () => `${this.tag}:q`;
}
