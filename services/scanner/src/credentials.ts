import {
  credentialsAad,
  type ImageScanRequest,
  openCredentials,
  type RegistryCredentials,
} from '@fleetscan/bus';
import type { ScannerPrivateKey } from './config.ts';
import { CredentialsError } from './errors.ts';

/**
 * Opens the registry credentials a request carries, for this request only: bound to its cluster
 * and image by the seal's aad, held in memory for the scan and never stored. Undefined when the
 * request has none; a CredentialsError (permanent, message free of secrets) when they cannot be
 * opened.
 */
export function openRequestCredentials(
  req: Pick<ImageScanRequest, 'cluster' | 'image' | 'credentials'>,
  privateKey: ScannerPrivateKey | undefined,
): RegistryCredentials | undefined {
  const sealed = req.credentials;
  if (!sealed) return undefined;
  if (!privateKey) {
    throw new CredentialsError(
      'the request carries sealed registry credentials but this scanner has no private key (SCANNER_PRIVATE_KEY_FILE)',
    );
  }
  if (sealed.kid !== privateKey.kid) {
    throw new CredentialsError(
      `registry credentials were sealed for key ${sealed.kid}; this scanner holds key ${privateKey.kid}`,
    );
  }
  const pem = privateKey.key.export({ type: 'pkcs8', format: 'pem' }).toString();
  try {
    return openCredentials(pem, sealed, credentialsAad(req.cluster, req.image));
  } catch {
    // No cause: a decryption or JSON error can quote what it failed on.
    throw new CredentialsError(
      'registry credentials could not be opened (tampered, or sealed for another cluster or image)',
    );
  }
}
