export { createInventory, type Inventory, type InventoryEvents, OWNER_KINDS } from './inventory.ts';
export { type Owner, ownerKey, ownerManifest, toOwner } from './owner.ts';
export {
  ANNOTATION_CONTENT_HASH,
  ANNOTATION_DB_UPDATED_AT,
  ANNOTATION_IMAGE_DIGEST,
  ANNOTATION_OMITTED_FINDINGS,
  ANNOTATION_SCAN_CONFIG_HASH,
  ANNOTATION_SCAN_ERROR,
  ANNOTATION_UPDATED_AT,
  type ReportKind,
  type ReportRef,
  reportProjector,
} from './report-ref.ts';
