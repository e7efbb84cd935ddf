/* The 2FA methods' display names and the order they are listed in, on every page that lists them. */

const ORDER = ['TOTP', 'SMS', 'EMAIL', 'BACKUP_CODE'];
export const NAMES = { TOTP: 'Authenticator app', SMS: 'SMS', EMAIL: 'Email', BACKUP_CODE: 'Backup code' };
export const byOrder = (a, b) => ORDER.indexOf(a) - ORDER.indexOf(b);
