// The one error class of engine/sampling for values a user chose (steps, names, denoise, shapes).

export class SamplingInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SamplingInputError';
  }
}
