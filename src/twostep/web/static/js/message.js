/* The message pages (expired links, "Not allowed"): nothing to wire beyond what every page gets. */

import { startPage } from './page.js';

startPage();
