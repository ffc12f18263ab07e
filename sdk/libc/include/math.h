/* math.h — single-precision math for the EE (sdk/libc/math.c). No doubles:
 * the EE FPU has none. Accuracy (max error vs a float64 reference, measured
 * by tests/test_sdk.py on the host in round-to-nearest; the EE FPU rounds
 * toward zero and flushes denormals, which adds up to ~1 ulp):
 *   sqrtf  EE SQRT.S (ee_fpu.h; host: correctly rounded)
 *   expf   <= 1 ulp on [-87, 88] (measured 0.99); below -87.34 returns 0,
 *          above 88.72 FLT_MAX
 *   logf   <= 1 ulp for normal x > 0 (measured 0.85); x <= 0 returns -FLT_MAX
 *   powf   <= 2 ulp for x > 0 when |y*ln x| < 80 (measured 1.35); x < 0 with
 *          integer y gets the sign right, non-integer y returns 0; 0^y>0 = 0
 *   sinf, cosf  <= 2 ulp (measured 1.58), or 2e-7 absolute where |result|
 *          < 1e-3, for |x| < 4000; larger |x| loses accuracy (reduction by
 *          a 3-part pi/2 is exact only for |x/(pi/2)| < 4096)
 *   tanhf  <= 3 ulp (measured 2.35, just above 0.3 where 1-2/(e^2x+1) cancels)
 * There is no inf/NaN on the EE: results saturate at +-FLT_MAX instead.
 */
#ifndef PS2LLM_MATH_H
#define PS2LLM_MATH_H

#define PS2LLM_FLT_MAX 3.40282347e+38f
#define HUGE_VALF PS2LLM_FLT_MAX
#define M_PI 3.14159265358979323846

float sqrtf(float x);
float fabsf(float x);
float floorf(float x);
float ceilf(float x);
float roundf(float x);
float fmaxf(float a, float b);
float fminf(float a, float b);
float expf(float x);
float logf(float x);
float powf(float x, float y);
float sinf(float x);
float cosf(float x);
float tanhf(float x);

#endif
