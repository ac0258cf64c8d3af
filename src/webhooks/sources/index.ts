/** Every source module, by the `source` name flows use. */
import type { SourceName } from '../config';
import { genericSource } from './generic';
import { hubspotSource } from './hubspot';
import { slackSource } from './slack';
import type { Source } from './source';
import { twilioSource } from './twilio';
import { whatsappSource } from './whatsapp';

export const SOURCES: { [S in SourceName]: Source<S> } = {
  whatsapp: whatsappSource,
  twilio: twilioSource,
  hubspot: hubspotSource,
  slack: slackSource,
  generic: genericSource,
};
