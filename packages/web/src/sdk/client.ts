/** The one SecureChat client of this tab. Everything the UI does with the server goes through it. */
import { createClient } from '@securechat/sdk';

export const client = createClient();
