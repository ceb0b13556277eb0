# PAT, Table 6 row "5 parts": 5 part tokens instead of 3. The paper does not give the bands of
# these variants; ours follow the rule of the 3-part default: P bands of height 2 / (P + 1) of the
# grid, one every 1 / (P + 1), so consecutive bands overlap by half (P = 3 gives the paper's
# (0, .5), (.25, .75), (.5, 1)). The backbone's part tokens and the head's parts follow the bands.
_base_ = ['./pat_market2duke.py']

num_parts = 5
model = dict(part_attention=dict(
    bands=[(i / (num_parts + 1), (i + 2) / (num_parts + 1)) for i in range(num_parts)]))
