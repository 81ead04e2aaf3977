import { z } from 'zod';
import { analyzeSentiment } from '../../agents/triage/engine.js';
import { defineOp, readOnly } from '../op.js';
import { sentimentSchema } from '../ticket/schemas.js';

export default defineOp({
  id: 'sentiment.analyze',
  mcpName: 'sentiment-analyzer_analyze_sentiment',
  title: 'Analyse sentiment and urgency',
  description:
    'Reads the tone (positive, neutral, negative) and the urgency (high, medium, low) of a text in French or English, with a confidence and the signals behind them: negations ("pas content"), intensifiers, capitals, exclamation marks, durations ("depuis 2h"), impact ("tout le monde est bloqué"), deadlines, calm wording.',
  input: z.object({ text: z.string().min(1, 'expected some text').max(20_000).describe('The text to analyse.') }),
  output: sentimentSchema,
  annotations: readOnly,
  policy: { minRole: 'viewer', needsApproval: false, timeoutMs: 10_000 },
  async run(_ctx, { text }) {
    return analyzeSentiment(text);
  },
});
