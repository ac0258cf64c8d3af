import type { NextFunction, Request, Response } from 'express';
import { GatewayError } from '../core/errors';

/** An error in OpenAI's shape, with its status and headers; a response already started is only ended. */
export function sendError(res: Response, err: GatewayError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(err.status).set(err.headers).json(err.toBody());
}

/** Router-level handler: answers GatewayErrors, passes anything else on to the app's handler. */
export function answerGatewayErrors(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (err instanceof GatewayError) sendError(res, err);
  else next(err);
}
