// Package pkgnet is PKG-Net (Deng, Chen & Deng, "Prior knowledge guided
// network for video anomaly detection", MMAsia 2023): the student U-Net
// that predicts an object's target patch from the four patches before it
// while its features mimic a frozen ImageNet backbone (the "prior
// knowledge"), the training loss, and the chain that turns per-object
// scores into frame scores. Everything here follows the official code
// (github.com/ganqieniurou/PKG-Net, commit fd8f200; no licence, so the
// facts below were read there and the code is fmam's own). Boxes, cubes,
// the teacher backbone and the plug-in into fmam's baseline machinery are
// elsewhere.
//
// # Facts of the official code
//
// Input (dataset.py, get_STC.py). Spatio-temporal cubes: for every box of
// a frame (the STC boxes of HF2VAD/VEC), the 5 frames t-4..t (border mode
// "predict": at a video's start the first frame repeats) cropped by the
// box of the target frame t (coordinates rounded up) and resized to 32x32
// with cv2.resize (bilinear), stored uint8 [5, 32, 32, 3] in OpenCV's BGR
// order. ToTensor makes them [15, 32, 32] in [0, 1], channel 3*f + c
// holding colour c of frame f. Channels 0..11 (frames t-4..t-1) are the
// student's input; channels 12..14 (frame t) are the prediction target
// and, as they are, the teacher's input: no ImageNet mean/std
// normalisation, and BGR although torchvision's weights expect RGB.
//
// Student (networks.py, basic_modules.py). double_conv(i, o) = (Conv2d 3x3
// pad 1 with bias, BatchNorm2d, ReLU) x 2; inconv = double_conv. With
// f = 64:
//
//   - k = 1 (Student_1): encoder inconv(12, f) at 32x32; three stages
//     "down conv" = Conv2d(i, o, 3, stride 2, pad 1, bias) + double_conv(o,
//     o) to f*2 at 16, f*4 at 8, f*8 at 4x4 (the bottleneck). Decoder: three
//     up(i, o, concat) = ConvTranspose2d(i, o, 3, stride 2, pad 1,
//     output_padding 1, bias), cat([skip, upsampled]) (skip first), then
//     double_conv(i, o): 512->256 at 8 (skip: the 8x8 encoder feature),
//     256->128 at 16, 128->64 at 32; outconv = Conv2d(64, 3, 1) with no
//     activation. Returns (prediction, bottleneck). 11,665,923 parameters.
//   - k = 2 (Student_2): the same inconv, then "down max" = MaxPool2d(2) +
//     double_conv(i, o) to f*2, f*4, f*8 (4x4). Decoder: up1 without skip,
//     ConvTranspose2d(512, 256) + double_conv(256, 256) at 8x8; up2 and up3
//     concatenate the 16x16 and 32x32 encoder features as in k = 1; the same
//     outconv. Returns (prediction, bottleneck, up1's 8x8 output).
//     7,978,627 parameters.
//
// Initialisation (weights_init_kaiming): every nn.Conv2d weight (not the
// transposed convolutions) kaiming_normal_(a=0.1, mode="fan_in"), i.e.
// N(0, 2/(1.01 fan_in)); BatchNorm weight N(1, 0.02) and bias 0; conv
// biases and the transposed convolutions keep PyTorch's defaults.
//
// BatchNorm in training: train.py builds the student with .eval() and
// never calls .train(), so every BatchNorm normalises with its initial
// running statistics (mean 0, variance 1, never updated) during training
// too: a learnt per-channel affine map x*gamma/sqrt(1+1e-5) + beta. Config
// EvalBatchNorm reproduces that.
//
// Teacher (resnet.py). torchvision ResNet50 (Ped2, Avenue) or
// ResNeXt50_32x4d (ShanghaiTech), ImageNet weights, eval mode. block1 =
// conv1, bn1, relu, maxpool, layer1: 256x8x8 on a 32x32 patch; block2 =
// layer2: 512x4x4; (block3 = layer3, 1024x2x2, is computed and unused).
// Block 1 of the loss and the scores pairs the student's bottleneck with
// layer2 (512x4x4); block 2 (k = 2 only) pairs up1's output with layer1
// (256x8x8).
//
// Training (train.py, loss.py). loss = 0.8 MSE(prediction, target) + 0.1
// gradient loss (alpha 3; internal/loss.Gradient) + 0.2 feature loss, the
// feature loss being mean(1 - cosine similarity over channels) for block
// 1 (k = 1), or 0.5 block 1 + 0.5 block 2 (k = 2) (internal/loss.
// CosineDistance). Adam lr 1e-4, eps 1e-7, no weight decay;
// MultiStepLR(milestones [60], gamma 0.8) stepped per epoch. The official
// loop evaluates on the test set after every epoch and keeps the best.
//
// Configs (config/*.yaml; PyYAML keeps the last of a repeated key):
//
//	            k  batch  epochs  teacher  num_obj  hybrid weights     mean                                   std
//	Ped2        2  128    120     resnet   3        0.01, 0.65, 0.35   0.00049519236, 0.034649044, 0.012760395 0.00030447403, 0.010666361, 0.004660762
//	Avenue      1  128    120     resnet   1        0.5, 0.5           0.00020463768, 0.022847509             0.00023165425, 0.011982802
//	ShanghaiT.  1  256    80      resnext  1        0.15, 0.75         0.0035102654, 0.05668377               0.0032046044, 0.023757514
//
// (Ped2's and Avenue's files also say max_epoch 80 before 120; the 120
// wins. All three: milestone 60, lr_decay 0.8, learning_rate 1e-4,
// loss_para gen 0.8, grad 0.1, fea 0.2, task pred.) The score components
// are, in order, the prediction MSE, block 1's and block 2's feature
// scores.
//
// Scoring (eval.py). Per object: the prediction MSE (mean over C, H, W)
// and per block the mean over positions of 1 - cos over channels. Each is
// z-scored with the config's mean and std, then weighted by the hybrid
// weights and summed. Frame score: the mean of the num_obj largest object
// scores of the frame (all of them when there are fewer). Frames without
// objects: for ShanghaiTech every z-scored component of such a frame is
// set to -1 first (zero_object), so its score is minus the sum of the
// hybrid weights (-0.9); for Ped2 and Avenue the code has no rule (its
// comment says only ShanghaiTech has such frames): the frame would score
// NaN. Then each test video's scores go through scipy.signal.medfilt with
// kernel 19 (zero padding at both ends), the videos being cut by
// hard-coded frame offsets (Ped2: 12 videos, 2010 frames; Avenue: 21,
// 15324; ShanghaiTech: 107, 40791), and the result is one micro AUC over
// all frames (sklearn roc_auc_score); the official code has no macro AUC.
//
// Sign: eval.py z-scores as (x - mean) / std and passes the frame scores
// to roc_auc_score with the ground truth's 1 = anomalous, so a higher
// score is more anomalous; fmam's chain (Chain) keeps that sign, and its
// micro AUC is the official number. fmam adds the macro AUC (the mean over
// videos with both classes, internal/metrics).
//
// # In fmam
//
// Baseline (baseline.go) puts it together: the network's input is the
// whole 15-channel cube; the frozen backbone (model.pkgnet.backbone) is
// part of the network, fed the target patch (BGR when model.pkgnet.bgr,
// resized to model.pkgnet.backbone_size), with a trainable 1x1 adapter
// per block where the student's channels differ from the backbone
// layer's and the backbone feature resized to the student's where sizes
// differ. Score (eval.go) computes the z-scoring statistics of a stage
// with a pass of its evaluation model over the training cubes
// (zstats.json), unless model.pkgnet.stats gives them; S_fea is z-scored
// with its own training statistics, and S_total = lambda z(S_fea) + (1 -
// lambda) S_o per object, before the frame chain.
package pkgnet
