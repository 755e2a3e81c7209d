/**
 * `hx unpin`: unpins a session, on every device after sync (the latest pin or unpin wins).
 *
 * @module
 */

import { pinCommand } from "./pin.ts";

export default pinCommand(false);
