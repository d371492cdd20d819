import { SecretBox } from '../security/secret-box.js';

/** TOTP secrets, sealed for their user (the key label predates SecretBox: changing it would lose every secret). */
export class TotpSecretBox extends SecretBox {
  constructor(secretKey: string) {
    super(secretKey, 'totp-secret-encryption');
  }
}
